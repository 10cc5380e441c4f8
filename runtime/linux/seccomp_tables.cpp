// The seccomp name tables shared by compile() and `berth features`, and the kernel probes.
#include "runtime/linux/seccomp_tables.hpp"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>

#include "runtime/linux/seccomp.hpp"

namespace berth::seccomp {
namespace {

template <typename T>
const T* find(const std::vector<T>& table, std::string_view name) {
    for (const auto& e : table)
        if (name == e.name) return &e;
    return nullptr;
}

}  // namespace

const std::vector<ActionInfo>& all_actions() {
    // SCMP_ACT_KILL is libseccomp's (and the kernel's) historic name for KILL_THREAD.
    static const std::vector<ActionInfo> t = {
        {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false, SECCOMP_RET_ALLOW},
        {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true, SECCOMP_RET_ERRNO},
        {"SCMP_ACT_KILL", SCMP_ACT_KILL, false, SECCOMP_RET_KILL_THREAD},
        {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false, SECCOMP_RET_KILL_PROCESS},
        {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false, SECCOMP_RET_KILL_THREAD},
        {"SCMP_ACT_LOG", SCMP_ACT_LOG, false, SECCOMP_RET_LOG},
        {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false, SECCOMP_RET_USER_NOTIF},
        {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true, SECCOMP_RET_TRACE},
        {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false, SECCOMP_RET_TRAP},
    };
    return t;
}

const std::vector<OperatorInfo>& all_operators() {
    static const std::vector<OperatorInfo> t = {
        {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE},
        {"SCMP_CMP_GT", SCMP_CMP_GT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
        {"SCMP_CMP_NE", SCMP_CMP_NE},
    };
    return t;
}

const std::vector<ArchInfo>& all_archs() {
    // Every runtime-spec architecture. Token 0: this libseccomp does not know it (LOONGARCH64
    // needs 2.6); such an architecture cannot be the host's, so compile() skips it.
    static const std::vector<ArchInfo> t = {
        {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
        {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
        {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
        {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
        {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
        {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
        {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
        {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
        {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
        {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
        {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
        {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
        {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
        {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
        {"SCMP_ARCH_S390", SCMP_ARCH_S390},
        {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
        {"SCMP_ARCH_X32", SCMP_ARCH_X32},
        {"SCMP_ARCH_X86", SCMP_ARCH_X86},
        {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
#ifdef SCMP_ARCH_LOONGARCH64
        {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#else
        {"SCMP_ARCH_LOONGARCH64", 0},
#endif
    };
    return t;
}

const std::vector<FlagInfo>& all_flags() {
    // The flags a profile may name. NEW_LISTENER and TSYNC_ESRCH are the runtime's business
    // (set when a rule is SCMP_ACT_NOTIFY), not the profile's.
    static const std::vector<FlagInfo> t = {
        {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
        {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
        {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
        {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
    };
    return t;
}

const ActionInfo* find_action(std::string_view n) {
    return find(all_actions(), n);
}
const OperatorInfo* find_operator(std::string_view n) {
    return find(all_operators(), n);
}
const ArchInfo* find_arch(std::string_view n) {
    return find(all_archs(), n);
}
const FlagInfo* find_flag(std::string_view n) {
    return find(all_flags(), n);
}

bool kernel_supports_flag(unsigned int flag) {
    // The kernel refuses WAIT_KILLABLE_RECV without NEW_LISTENER before it looks at the program.
    if (flag & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) flag |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, nullptr);
    return rc < 0 && errno == EFAULT;
}

bool kernel_supports_action(uint32_t kernel_ret) {
    return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &kernel_ret) == 0;
}

Support probe_support() {
    Support s;
    const struct scmp_version* v = seccomp_version();
    s.libseccomp_version =
        std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
    // PR_GET_SECCOMP fails with EINVAL on kernels built without CONFIG_SECCOMP.
    s.enabled = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 && kernel_supports_action(SECCOMP_RET_ALLOW);
    if (!s.enabled) return s;
    for (const auto& a : all_actions())
        if (kernel_supports_action(a.kernel_ret)) s.actions.push_back(a.name);
    for (const auto& o : all_operators())
        s.operators.push_back(o.name);
    for (const auto& a : all_archs()) {
        // libseccomp spells them "x86_64", "mipsel64n32": the name after SCMP_ARCH_, lowercased.
        std::string lower(a.name + 10);
        for (auto& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (a.token != 0 && seccomp_arch_resolve_name(lower.c_str()) == a.token)
            s.archs.push_back(a.name);
    }
    for (const auto& f : all_flags()) {
        s.known_flags.push_back(f.name);
        // TSYNC is accepted and ignored (single-threaded child), so it is always supported.
        if (f.value == SECCOMP_FILTER_FLAG_TSYNC || kernel_supports_flag(f.value))
            s.supported_flags.push_back(f.name);
    }
    return s;
}

}  // namespace berth::seccomp
