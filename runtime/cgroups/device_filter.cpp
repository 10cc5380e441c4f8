// The cgroup v2 device filter: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) generated from
// the rule list, loaded and attached with BPF_F_ALLOW_MULTI, replacing berth's earlier one.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <cstring>

#include "runtime/cgroups/cgroups.hpp"

namespace berth::cgroups {

namespace {

BpfInsn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return BpfInsn{code, static_cast<uint8_t>((dst & 0xf) | ((src & 0xf) << 4)), off, imm};
}

// Registers after the prologue: r2 = device type, r3 = requested access, r4 = major,
// r5 = minor (struct bpf_cgroup_dev_ctx: access_type = type | access << 16, major, minor).
void prologue(std::vector<BpfInsn>& p) {
    p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0));
    p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff));
    p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0));
    p.push_back(insn(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16));
    p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0));
    p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0));
}

long bpf(int cmd, union bpf_attr* attr) {
    return ::syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

}  // namespace

std::vector<BpfInsn> device_filter_program(const std::vector<spec::DeviceCgroup>& rules) {
    std::vector<BpfInsn> p;
    prologue(p);
    // The v1 lists are "last match wins": walk the rules backwards, first match returns.
    for (size_t k = rules.size(); k-- > 0;) {
        const auto& r = rules[k];
        std::string type = r.type.empty() ? "a" : r.type;
        if (type == "p") continue;
        std::vector<BpfInsn> conds;  // each a "jump to next block if it does not match"
        if (type != "a") {
            int t = type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
            conds.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0, t));
            std::string a = r.access.empty() ? "rwm" : r.access;
            int acc = 0;
            if (a.find('m') != std::string::npos) acc |= BPF_DEVCG_ACC_MKNOD;
            if (a.find('r') != std::string::npos) acc |= BPF_DEVCG_ACC_READ;
            if (a.find('w') != std::string::npos) acc |= BPF_DEVCG_ACC_WRITE;
            if (acc != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)) {
                // The request matches only if it asks for nothing outside the rule's access.
                conds.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0));
                conds.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, ~acc));
                conds.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 1, 0, 0, 0));
            }
            if (r.major && *r.major >= 0)
                conds.push_back(
                    insn(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, static_cast<int32_t>(*r.major)));
            if (r.minor && *r.minor >= 0)
                conds.push_back(
                    insn(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, static_cast<int32_t>(*r.minor)));
        }
        // Block = conds + "r0 = allow; exit": a failed condition skips to the next block.
        const int n = static_cast<int>(conds.size());
        for (int i = 0; i < n; ++i) {
            if ((conds[i].code & 0x07) == BPF_JMP)
                conds[i].off = static_cast<int16_t>(n - i - 1 + 2);
            p.push_back(conds[i]);
        }
        p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r.allow ? 1 : 0));
        p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        // A rule matching everything ends the program: the verifier rejects unreachable code.
        if (n == 0) return p;
    }
    // No rule matched: a new v1 device cgroup allows everything, and so does this.
    p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1));
    p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    return p;
}

Status v2::devices(const std::string& dir, const std::vector<spec::DeviceCgroup>& rules) {
    for (size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        if (!r.type.empty() && r.type != "a" && r.type != "c" && r.type != "b" && r.type != "u" &&
            r.type != "p")
            return error("linux.resources.devices[" + std::to_string(i) + "].type: unknown '" +
                         r.type + "'");
        if (!r.access.empty() && r.access.find_first_not_of("rwm") != std::string::npos)
            return error("linux.resources.devices[" + std::to_string(i) + "].access: invalid '" +
                         r.access + "'");
    }
    std::vector<BpfInsn> prog = device_filter_program(rules);
    static_assert(sizeof(BpfInsn) == sizeof(struct bpf_insn));
    UniqueFd cg(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cg) return sys_error("open cgroup " + dir);

    // Programs attached before (an earlier apply) are detached after the new one is in, so
    // there is never a window without a filter.
    std::vector<uint32_t> old_ids(64);
    union bpf_attr q;
    std::memset(&q, 0, sizeof(q));
    q.query.target_fd = static_cast<uint32_t>(cg.get());
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = reinterpret_cast<uint64_t>(old_ids.data());
    q.query.prog_cnt = static_cast<uint32_t>(old_ids.size());
    if (bpf(BPF_PROG_QUERY, &q) == 0)
        old_ids.resize(q.query.prog_cnt);
    else
        old_ids.clear();

    static char license[] = "Apache";
    std::string log(65536, '\0');
    union bpf_attr a;
    std::memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insns = reinterpret_cast<uint64_t>(prog.data());
    a.insn_cnt = static_cast<uint32_t>(prog.size());
    a.license = reinterpret_cast<uint64_t>(license);
    a.log_buf = reinterpret_cast<uint64_t>(log.data());
    a.log_size = static_cast<uint32_t>(log.size());
    a.log_level = 1;
    UniqueFd pfd(static_cast<int>(bpf(BPF_PROG_LOAD, &a)));
    if (!pfd) {
        int e = errno;
        log.resize(std::strlen(log.c_str()));
        std::string last = log.substr(0, log.find("\nprocessed"));
        if (auto nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
        while (!last.empty() && last.back() == '\n')
            last.pop_back();
        return Error::sys(e, "load the device filter eBPF program" +
                                 (last.empty() ? std::string() : " (" + last + ")"));
    }
    union bpf_attr at;
    std::memset(&at, 0, sizeof(at));
    at.target_fd = static_cast<uint32_t>(cg.get());
    at.attach_bpf_fd = static_cast<uint32_t>(pfd.get());
    at.attach_type = BPF_CGROUP_DEVICE;
    at.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf(BPF_PROG_ATTACH, &at) != 0) return sys_error("attach the device filter to " + dir);

    for (uint32_t id : old_ids) {
        union bpf_attr g;
        std::memset(&g, 0, sizeof(g));
        g.prog_id = id;
        UniqueFd old(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &g)));
        if (!old) continue;
        union bpf_attr d;
        std::memset(&d, 0, sizeof(d));
        d.target_fd = static_cast<uint32_t>(cg.get());
        d.attach_bpf_fd = static_cast<uint32_t>(old.get());
        d.attach_type = BPF_CGROUP_DEVICE;
        if (bpf(BPF_PROG_DETACH, &d) != 0)
            return sys_error("detach the previous device filter from " + dir);
    }
    return ok();
}

}  // namespace berth::cgroups
