// Error formatting and kinds.
#include "base/result.hpp"

#include <cstring>

namespace berth {

ErrorKind kind_of_errno(int code) {
    switch (code) {
        case ENOENT:
        case ESRCH:
            return ErrorKind::not_found;
        case EEXIST:
            return ErrorKind::exists;
        case EINVAL:
            return ErrorKind::invalid;
        case EPERM:
        case EACCES:
            return ErrorKind::permission;
        case EBUSY:
        case EAGAIN:
            return ErrorKind::busy;
        default:
            return ErrorKind::other;
    }
}

const char* kind_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::not_found:
            return "not_found";
        case ErrorKind::exists:
            return "exists";
        case ErrorKind::invalid:
            return "invalid";
        case ErrorKind::permission:
            return "permission";
        case ErrorKind::busy:
            return "busy";
        case ErrorKind::wrong_state:
            return "wrong_state";
        case ErrorKind::other:
            break;
    }
    return "other";
}

std::string Error::str() const {
    if (code_ == 0) return msg_;
    std::string s = msg_;
    if (!s.empty()) s += ": ";
    s += std::strerror(code_);
    return s;
}

}  // namespace berth
