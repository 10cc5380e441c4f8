// The ENOSYS stub put in front of libseccomp's program: a syscall newer than every syscall the
// profile names returns ENOSYS instead of the profile's default errno.
//
// Why: a profile written before clone3 or faccessat2 existed denies them with its default
// action, usually EPERM, and libc treats EPERM as final. ENOSYS is what an older kernel would
// say, and libc then falls back to clone or faccessat. runc 1.1 adds the same stub (per
// architecture, above the highest syscall number the profile names).
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include <cerrno>
#include <cstddef>
#include <map>

#include "runtime/linux/seccomp_enosys.hpp"
#include "runtime/linux/seccomp_tables.hpp"

namespace berth::seccomp {

namespace {

// x32 processes report AUDIT_ARCH_X86_64 and set this bit in the syscall number.
constexpr uint32_t kX32Bit = 0x40000000;

sock_filter stmt(uint16_t code, uint32_t k) {
    return sock_filter{code, 0, 0, k};
}
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
    return sock_filter{code, jt, jf, k};
}

// Highest number, on architecture `token`, of any syscall the profile names (every rule
// counts, whatever its action); -1 when it names none known there.
int64_t highest(const spec::Seccomp& p, uint32_t token) {
    int64_t max = -1;
    for (const auto& sc : p.syscalls)
        for (const auto& name : sc.names) {
            int nr = seccomp_syscall_resolve_name_arch(token, name.c_str());
            // Negative: unknown, or a pseudo number for a syscall this ABI lacks.
            if (nr >= 0 && nr > max) max = nr;
        }
    return max;
}

}  // namespace

std::vector<sock_filter> enosys_stub(void* ctx, const spec::Seccomp& p, uint32_t default_action) {
    std::vector<sock_filter> out;
    // Allowing or logging by default already lets new syscalls through.
    if (default_action == SCMP_ACT_ALLOW || default_action == SCMP_ACT_LOG) return out;

    std::vector<uint32_t> tokens{seccomp_arch_native()};
    for (const auto& a : p.architectures)
        if (const ArchInfo* i = find_arch(a); i && i->token) tokens.push_back(i->token);
    // audit arch -> (max for the plain numbers, max for x32's numbers; -2 = ABI not filtered)
    std::map<uint32_t, std::pair<int64_t, int64_t>> arches;
    for (uint32_t t : tokens) {
        if (seccomp_arch_exist(ctx, t) != 0) continue;
        bool x32 = t == SCMP_ARCH_X32;
        uint32_t audit = x32 ? AUDIT_ARCH_X86_64 : t;
        auto [it, _] = arches.try_emplace(audit, -2, -2);
        (x32 ? it->second.second : it->second.first) = highest(p, t);
    }

    std::vector<size_t> to_end;  // indices of "ja END" whose offset is patched last
    auto ret_enosys_if_above = [&](int64_t max) {
        if (max < 0) {
            // The ABI is not in the filter, or the profile names nothing there: leave
            // every call to libseccomp's program.
            to_end.push_back(out.size());
            out.push_back(stmt(BPF_JMP | BPF_JA, 0));
            return;
        }
        out.push_back(jump(BPF_JMP | BPF_JGT | BPF_K, uint32_t(max), 0, 1));
        out.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
        to_end.push_back(out.size());
        out.push_back(stmt(BPF_JMP | BPF_JA, 0));
    };
    for (const auto& [audit, max] : arches) {
        if (max.first < 0 && max.second < 0) continue;
        out.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
        size_t arch_check = out.size();
        out.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, audit, 0, 0));
        out.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
        if (audit == AUDIT_ARCH_X86_64) {
            size_t split = out.size();
            out.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, 0, 0));
            ret_enosys_if_above(max.second);
            out[split].jf = uint8_t(out.size() - split - 1);
        }
        ret_enosys_if_above(max.first);
        out[arch_check].jf = uint8_t(out.size() - arch_check - 1);
    }
    for (size_t i : to_end)
        out[i].k = uint32_t(out.size() - i - 1);
    return out;
}

}  // namespace berth::seccomp
