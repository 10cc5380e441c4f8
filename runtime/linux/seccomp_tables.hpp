// The runtime-spec seccomp vocabulary (actions, operators, architectures, flags) and what
// this libseccomp and kernel accept of it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace berth::seccomp {

struct ActionInfo {
    const char* name;     // "SCMP_ACT_ERRNO"
    uint32_t value;       // libseccomp action, errno bits clear
    bool takes_errno;     // ERRNO and TRACE carry errnoRet in the low 16 bits
    uint32_t kernel_ret;  // SECCOMP_RET_* the kernel must know (SECCOMP_GET_ACTION_AVAIL)
};
struct OperatorInfo {
    const char* name;
    int value;  // enum scmp_compare
};
struct ArchInfo {
    const char* name;
    uint32_t token;  // SCMP_ARCH_*
};
struct FlagInfo {
    const char* name;
    unsigned int value;  // SECCOMP_FILTER_FLAG_*
};

const ActionInfo* find_action(std::string_view name);
const OperatorInfo* find_operator(std::string_view name);
const ArchInfo* find_arch(std::string_view name);
const FlagInfo* find_flag(std::string_view name);

const std::vector<ActionInfo>& all_actions();
const std::vector<OperatorInfo>& all_operators();
const std::vector<ArchInfo>& all_archs();
const std::vector<FlagInfo>& all_flags();

// seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL) fails with EFAULT (bad program pointer) when
// the kernel knows the flag and EINVAL when it does not; nothing is installed either way.
bool kernel_supports_flag(unsigned int flag);
// SECCOMP_GET_ACTION_AVAIL (Linux 4.14+).
bool kernel_supports_action(uint32_t kernel_ret);

}  // namespace berth::seccomp
