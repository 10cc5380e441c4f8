// linux.sysctl: keys checked against the container's namespaces in the parent, values written
// in the child through a procfs handle that is verified to be procfs.
#pragma once

#include <map>
#include <string>

#include "base/result.hpp"
#include "spec/runtime_config.hpp"

namespace berth::runtime::linux_ {

// A key is allowed only when a namespace of the container isolates it, as runc checks:
// kernel.msg*/sem*/shm* and fs.mqueue.* need an ipc namespace, net.* a network namespace,
// kernel.hostname/domainname a uts namespace. Errors name "linux.sysctl.<key>".
Status validate_sysctl(const spec::Spec& spec);

// "net.ipv4.conf.eth0/100.rp_filter" -> "net/ipv4/conf/eth0.100/rp_filter" (sysctl(8)'s
// notation: '/' inside a key stands for a '.' in the name). Fails on empty or ".." parts.
Result<std::string> sysctl_path(const std::string& key);

// Writes every value under <root>/proc/sys, refusing a /proc that is not procfs (CVE-2019-16884
// style: a fake /proc made by a mount or the image would take the writes).
Status apply_sysctl(const std::map<std::string, std::string>& sysctl, int root_fd);

}  // namespace berth::runtime::linux_
