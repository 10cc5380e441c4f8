// The parent/child sync protocol: typed messages over one SOCK_SEQPACKET socketpair.
//
// Two children talk to the parent over the same socket: stage1 (cloned by the parent, joins
// and creates the namespaces) and init (cloned by stage1 with CLONE_PARENT, so that it is the
// parent's child and, in a new pid namespace, the container's pid 1). Both children write to
// one socket; messages stay in the order below because the child (init, or exec's process)
// waits for stage1's exit (EOF on a pipe only stage1 holds open) before it sends anything.
//
//   from     to      message           payload            meaning / what the receiver does
//   -------  ------  ----------------  -----------------  ----------------------------------------
//   parent   stage1  kProceed          -                  stage1 is in its cgroup and has its
//                                                         oom_score_adj; it may join/create the
//                                                         namespaces (the cgroup namespace must be
//                                                         made after the cgroup move). On the
//                                                         direct path (process.cpp) the init
//                                                         gets it, and the next three are
//                                                         not sent.
//   stage1   parent  kNamespacesReady  -                  unshare done; parent writes uid_map,
//                                                         gid_map and timens_offsets of stage1
//   parent   stage1  kMapsWritten      -                  stage1 sets ids to 0 and clones init
//   stage1   parent  kInitPid          pid (host view)    stage1 then _exits; parent reaps it
//                                                         (init runs concurrently: its
//                                                         kRuntimeHooks may come first)
//   init     parent  kRuntimeHooks     -                  namespaces exist; parent runs prestart
//                                                         and createRuntime hooks
//   parent   init    kHooksDone        state JSON         init runs createContainer hooks with it,
//                                                         then sets up the rootfs and the process
//   init     parent  kSeccompListener  + SCM_RIGHTS fd    (only with SCMP_ACT_NOTIFY) the parent
//                                                         sends the fd to listenerPath
//   init     parent  kReady            -                  init waits on start.sock; create is done
//   any      parent  kError            message            the child failed and _exits; the parent
//                                                         reports the message and cleans up
//
// After kReady the socket is closed on both sides; `start` talks to init over start.sock.
//
// berth exec uses the same socket and messages up to kInitPid (the parent writes no maps:
// every namespace is joined), then:
//
//   process  parent  kSeccompListener  + SCM_RIGHTS fd    (only with SCMP_ACT_NOTIFY) as above
//   process  parent  kReady            -                  the next step is execve
//   process  parent  (EOF)             -                  execve succeeded: the socket is CLOEXEC
//   process  parent  kError            message            set-up or execve failed
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace berth::runtime {

enum class SyncType : uint32_t {
    kProceed = 1,
    kNamespacesReady,
    kMapsWritten,
    kInitPid,
    kRuntimeHooks,
    kHooksDone,
    kSeccompListener,
    kReady,
    kError,
};

const char* sync_name(SyncType t);

struct SyncMsg {
    SyncType type{};
    int64_t value = 0;
    std::string payload;
};

// Largest packet. A longer payload (the state JSON with large annotations) is sent as several
// packets, each flagged "more" but the last; sync_recv joins them (up to 64 MiB).
inline constexpr size_t kSyncMax = 64 * 1024;

Result<std::pair<UniqueFd, UniqueFd>> sync_pair();
Status sync_send(int fd, SyncType type, int64_t value = 0, std::string_view payload = {});
// Receives one message; EOF (the peer died without a word) is an error.
Result<SyncMsg> sync_recv(int fd);
// The same, but EOF is nullopt: exec's success signal (the process's end is CLOEXEC).
Result<std::optional<SyncMsg>> sync_recv_or_eof(int fd);
// Receives and checks the type; a kError from the child becomes the returned error.
Result<SyncMsg> sync_expect(int fd, SyncType want);

// SCM_RIGHTS: one fd with a one-byte (or named) message, as runc's utils.SendFd does.
Status send_fd(int sock, int fd, std::string_view name = "/dev/ptmx");
Result<UniqueFd> recv_fd(int sock);

}  // namespace berth::runtime
