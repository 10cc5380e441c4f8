// Seccomp compilation (libseccomp, in the parent) and loading (raw seccomp(2), in the child).
#include "runtime/linux/seccomp.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <memory>
#include <string_view>

#include "base/file.hpp"
#include "base/log.hpp"
#include "runtime/linux/seccomp_enosys.hpp"
#include "runtime/linux/seccomp_tables.hpp"

namespace berth::seccomp {
namespace {

using Ctx = std::unique_ptr<void, void (*)(void*)>;

std::string field(std::string_view path) {
    return "linux.seccomp." + std::string(path);
}

// runc's defaults: ERRNO and TRACE without errnoRet return EPERM.
Result<uint32_t> translate_action(const std::string& name, const std::optional<uint32_t>& ret,
                                  const std::string& path) {
    const ActionInfo* a = find_action(name);
    if (!a) return error(path + ": unknown action '" + name + "'");
    if (!a->takes_errno) {
        if (ret) log::debug(path + ": errnoRet ignored for " + name);
        return a->value;
    }
    uint32_t code = ret.value_or(EPERM);
    if (code > 0xffff)
        return error(path + ": errnoRet " + std::to_string(code) + " out of range (0-65535)");
    return a->value | code;
}

// Syscalls the child itself makes between load() and execve(): a NOTIFY rule on them would
// block the child before the agent can have the listener fd (runc forbids write for the
// same reason).
bool needed_before_exec(std::string_view name) {
    return name == "write" || name == "sendmsg" || name == "sendto";
}

Status add_rule(scmp_filter_ctx ctx, const spec::SeccompSyscall& sc, size_t i, uint32_t action,
                const std::vector<scmp_arg_cmp>& conds, bool split) {
    const std::string path = field("syscalls[" + std::to_string(i) + "]");
    for (size_t n = 0; n < sc.names.size(); n++) {
        const std::string& name = sc.names[n];
        if (name.empty()) return error(path + ".names[" + std::to_string(n) + "]: empty name");
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) {
            log::debug("unknown seccomp syscall '" + name + "' ignored");
            continue;
        }
        int rc = 0;
        if (split) {
            // libseccomp cannot AND two comparisons on one argument; runc then adds one rule
            // per comparison (OR), and profiles written for runc rely on it.
            for (const auto& c : conds) {
                rc = seccomp_rule_add_array(ctx, action, nr, 1, &c);
                if (rc < 0) break;
            }
        } else {
            rc = seccomp_rule_add_array(ctx, action, nr, unsigned(conds.size()), conds.data());
        }
        if (rc < 0) return Error::sys(-rc, path + ": add rule for syscall '" + name + "'");
    }
    return ok();
}

Result<std::vector<scmp_arg_cmp>> translate_args(const spec::SeccompSyscall& sc, size_t i,
                                                 bool* split) {
    std::vector<scmp_arg_cmp> conds;
    std::array<int, 6> seen{};
    *split = false;
    for (size_t a = 0; a < sc.args.size(); a++) {
        const auto& arg = sc.args[a];
        const std::string path =
            field("syscalls[" + std::to_string(i) + "].args[" + std::to_string(a) + "]");
        if (arg.index >= 6)
            return error(path + ".index: " + std::to_string(arg.index) + " out of range (0-5)");
        const OperatorInfo* op = find_operator(arg.op);
        if (!op) return error(path + ".op: unknown operator '" + arg.op + "'");
        scmp_arg_cmp c{};
        c.arg = arg.index;
        c.op = static_cast<scmp_compare>(op->value);
        c.datum_a = arg.value;
        // Only MASKED_EQ has a second operand: (arg & value) == valueTwo.
        c.datum_b = op->value == SCMP_CMP_MASKED_EQ ? arg.value_two.value_or(0) : 0;
        if (++seen[arg.index] > 1) *split = true;
        conds.push_back(c);
    }
    return conds;
}

Result<std::vector<struct sock_filter>> export_bpf(scmp_filter_ctx ctx) {
    UniqueFd mem(memfd_create("berth-seccomp", MFD_CLOEXEC));
    if (!mem) return sys_error("memfd_create");
    int rc = seccomp_export_bpf(ctx, mem.get());
    if (rc < 0) return Error::sys(-rc, "export seccomp BPF");
    if (lseek(mem.get(), 0, SEEK_SET) < 0) return sys_error("seek seccomp BPF");
    std::string bytes = TRY_CTX(read_fd(mem.get(), 16u << 20), "read seccomp BPF");
    if (bytes.empty() || bytes.size() % sizeof(struct sock_filter) != 0)
        return error("libseccomp produced a malformed BPF program (" +
                     std::to_string(bytes.size()) + " bytes)");
    // The kernel rejects programs longer than BPF_MAXINSNS; say so here, not in the child.
    if (bytes.size() / sizeof(struct sock_filter) > BPF_MAXINSNS)
        return error("seccomp profile too large: " +
                     std::to_string(bytes.size() / sizeof(struct sock_filter)) +
                     " BPF instructions (kernel limit " + std::to_string(BPF_MAXINSNS) + ")");
    std::vector<struct sock_filter> prog(bytes.size() / sizeof(struct sock_filter));
    std::memcpy(prog.data(), bytes.data(), bytes.size());
    return prog;
}

}  // namespace

Result<CompiledFilter> compile(const spec::Seccomp& p) {
    CompiledFilter out;
    out.listener_path = p.listener_path;
    out.listener_metadata = p.listener_metadata;

    uint32_t def =
        TRY(translate_action(p.default_action, p.default_errno_ret, field("defaultAction")));
    if (def == SCMP_ACT_NOTIFY)
        return error(field("defaultAction") +
                     ": SCMP_ACT_NOTIFY cannot be the default action (the runtime itself "
                     "needs syscalls after the filter is loaded)");

    // Translate every rule before touching libseccomp so errors come in profile order.
    struct Rule {
        uint32_t action;
        std::vector<scmp_arg_cmp> conds;
        bool split;
    };
    std::vector<Rule> rules;
    rules.reserve(p.syscalls.size());
    for (size_t i = 0; i < p.syscalls.size(); i++) {
        const auto& sc = p.syscalls[i];
        const std::string path = field("syscalls[" + std::to_string(i) + "]");
        if (sc.names.empty()) return error(path + ".names: at least one name required");
        Rule r{};
        r.action = TRY(translate_action(sc.action, sc.errno_ret, path + ".action"));
        r.conds = TRY(translate_args(sc, i, &r.split));
        if (r.action == SCMP_ACT_NOTIFY) {
            out.needs_listener = true;
            for (size_t n = 0; n < sc.names.size(); n++)
                if (needed_before_exec(sc.names[n]))
                    return error(path + ".names[" + std::to_string(n) +
                                 "]: SCMP_ACT_NOTIFY cannot be used for '" + sc.names[n] +
                                 "' (berth needs it to hand the listener over)");
        }
        rules.push_back(std::move(r));
    }
    if (out.needs_listener && p.listener_path.empty())
        return error(field("listenerPath") + ": required when an action is SCMP_ACT_NOTIFY");

    for (size_t i = 0; i < p.flags.size(); i++) {
        const std::string path = field("flags[" + std::to_string(i) + "]");
        const FlagInfo* f = find_flag(p.flags[i]);
        if (!f) return error(path + ": unknown flag '" + p.flags[i] + "'");
        if (f->value == SECCOMP_FILTER_FLAG_TSYNC) {
            // The child is single-threaded when it loads the filter, so there is nothing to
            // synchronise; runc ignores the flag too (and TSYNC with NEW_LISTENER is EINVAL).
            continue;
        }
        if (f->value == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !out.needs_listener) {
            // Only meaningful with a listener; the kernel rejects it without one.
            log::debug(path + ": " + p.flags[i] + " ignored: no SCMP_ACT_NOTIFY rule");
            continue;
        }
        if (!kernel_supports_flag(f->value))
            return error(path + ": " + p.flags[i] + " is not supported by this kernel");
        out.flags |= f->value;
    }
    if (out.needs_listener) out.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;

    Ctx ctx(seccomp_init(def), seccomp_release);
    if (!ctx) return error("seccomp: cannot create a filter with " + p.default_action);
    // Raw errno values from libseccomp, not its -ECANCELED catch-all.
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_API_SYSRAWRC, 1);
    // Binary-tree dispatch keeps a ~400-syscall profile from costing ~400 comparisons on
    // every syscall. libseccomp <= 2.5.4 misbehaves with the tree and no rules, hence the
    // threshold (runc uses the same one).
    if (p.syscalls.size() > 32) seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);

    for (size_t i = 0; i < p.architectures.size(); i++) {
        const std::string path = field("architectures[" + std::to_string(i) + "]");
        const ArchInfo* a = find_arch(p.architectures[i]);
        if (!a) return error(path + ": unknown architecture '" + p.architectures[i] + "'");
        if (a->token == 0) {
            log::debug(path + ": " + p.architectures[i] + " skipped: unknown to this libseccomp");
            continue;
        }
        int rc = seccomp_arch_add(ctx.get(), a->token);
        if (rc == -EDOM) {
            // One BPF program cannot mix byte orders (libseccomp says EDOM), and no process on
            // this kernel can use an ABI of the other byte order, so there is nothing to filter.
            log::debug(path + ": " + p.architectures[i] + " skipped: other byte order than " +
                       "the host");
            continue;
        }
        if (rc < 0 && rc != -EEXIST) return Error::sys(-rc, path + ": add architecture");
    }

    for (size_t i = 0; i < rules.size(); i++) {
        // A rule with the default action changes nothing, and libseccomp refuses it.
        if (rules[i].action == def) continue;
        TRY(add_rule(ctx.get(), p.syscalls[i], i, rules[i].action, rules[i].conds, rules[i].split));
    }
    out.program = enosys_stub(ctx.get(), p, def);
    auto body = TRY(export_bpf(ctx.get()));
    out.program.insert(out.program.end(), body.begin(), body.end());
    if (out.program.size() > BPF_MAXINSNS)
        return error("seccomp profile too large: " + std::to_string(out.program.size()) +
                     " BPF instructions (kernel limit " + std::to_string(BPF_MAXINSNS) + ")");
    return out;
}

Result<UniqueFd> load(const CompiledFilter& f) {
    struct sock_fprog prog {};
    prog.len = static_cast<unsigned short>(f.program.size());
    prog.filter = const_cast<struct sock_filter*>(f.program.data());
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f.flags, &prog);
    if (rc < 0) {
        if (errno == EACCES)
            return sys_error(
                "load seccomp filter (needs noNewPrivileges or CAP_SYS_ADMIN at load time)");
        return sys_error("load seccomp filter");
    }
    if (f.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) return UniqueFd(static_cast<int>(rc));
    return UniqueFd();
}

}  // namespace berth::seccomp
