// Result<T> and Error: errno plus a human context chain, no exceptions.
#pragma once

#include <cerrno>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace berth {

// What went wrong, for callers that must tell failures apart: they branch on the kind, never
// on the message text (which is for people and changes with its context).
enum class ErrorKind {
    other,
    not_found,    // the object is not there (ENOENT, ESRCH; "container does not exist")
    exists,       // the object is already there (EEXIST; a container id in use)
    invalid,      // bad input: a field, a flag, an argument (EINVAL)
    permission,   // not allowed (EPERM, EACCES)
    busy,         // in use or locked by someone else (EBUSY, EAGAIN)
    wrong_state,  // the object is in a state the operation does not accept ("not running")
};

// The kind a system error of this errno has (other when none fits).
ErrorKind kind_of_errno(int code);
// "not_found", "exists", ...: for logs and tests.
const char* kind_name(ErrorKind kind);

// An error: the errno that caused it (0 when not a system error), its kind, and a message
// that reads outermost-first: "create container 'web': mount '/proc': Permission denied".
class Error {
  public:
    Error() = default;
    Error(int code, std::string msg)
        : code_(code), kind_(kind_of_errno(code)), msg_(std::move(msg)) {}
    Error(ErrorKind kind, std::string msg) : kind_(kind), msg_(std::move(msg)) {}

    // A system error from errno, with what was being done; its kind follows the errno.
    static Error sys(int code, std::string what) { return Error(code, std::move(what)); }
    // A logical error (bad input, wrong state) with no errno.
    static Error msg(std::string text) { return Error(0, std::move(text)); }

    int code() const { return code_; }
    ErrorKind kind() const { return kind_; }
    bool is(ErrorKind k) const { return kind_ == k; }
    const std::string& message() const { return msg_; }
    // Adds an outer context: "context: inner".
    Error& context(const std::string& outer) {
        msg_ = msg_.empty() ? outer : outer + ": " + msg_;
        return *this;
    }
    Error with_context(const std::string& outer) const {
        Error e = *this;
        e.context(outer);
        return e;
    }
    // The full line: message plus strerror of the code.
    std::string str() const;

  private:
    int code_ = 0;
    ErrorKind kind_ = ErrorKind::other;
    std::string msg_;
};

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T v) : v_(std::in_place_index<0>, std::move(v)) {}
    Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& value() const& { return std::get<0>(v_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }
    Result& context(const std::string& outer) {
        if (!ok()) std::get<1>(v_).context(outer);
        return *this;
    }

  private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error e) : err_(std::move(e)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const& { return err_; }
    Error&& error() && { return std::move(err_); }
    Result& context(const std::string& outer) {
        if (failed_) err_.context(outer);
        return *this;
    }

  private:
    Error err_;
    bool failed_ = false;
};

using Status = Result<void>;

inline Status ok() {
    return {};
}

// Shorthands for the common failures.
inline Error sys_error(std::string what) {
    return Error::sys(errno, std::move(what));
}
inline Error error(std::string text) {
    return Error::msg(std::move(text));
}
inline Error error(ErrorKind kind, std::string text) {
    return Error(kind, std::move(text));
}

}  // namespace berth

// TRY(expr): evaluates a Result; on failure returns its error from the enclosing function,
// otherwise yields the value (GNU statement expression; fine for gcc and clang). The Result
// is held by value: `TRY(f().context(...))` yields a reference into a temporary that dies at
// the end of the declaration, so binding a reference to it would dangle.
#define BERTH_CONCAT2(a, b) a##b
#define BERTH_CONCAT(a, b) BERTH_CONCAT2(a, b)
#define TRY(expr)                                                     \
    ({                                                                \
        auto BERTH_CONCAT(_r, __LINE__) = ::berth::detail::own(expr); \
        if (!BERTH_CONCAT(_r, __LINE__).ok())                         \
            return std::move(BERTH_CONCAT(_r, __LINE__)).error();     \
        ::berth::detail::take(std::move(BERTH_CONCAT(_r, __LINE__))); \
    })
// TRY_CTX(expr, context): as TRY, adding an outer context to the error.
#define TRY_CTX(expr, ctx)                                                          \
    ({                                                                              \
        auto BERTH_CONCAT(_r, __LINE__) = ::berth::detail::own(expr);               \
        if (!BERTH_CONCAT(_r, __LINE__).ok())                                       \
            return std::move(BERTH_CONCAT(_r, __LINE__)).error().with_context(ctx); \
        ::berth::detail::take(std::move(BERTH_CONCAT(_r, __LINE__)));               \
    })

namespace berth::detail {
// Takes the Result out of whatever expr yielded (a prvalue, or a reference into a temporary
// still alive in this full-expression) so TRY owns it past the declaration.
template <typename R>
std::remove_cvref_t<R> own(R&& r) {
    return std::move(r);
}
template <typename T>
T take(Result<T>&& r) {
    return std::move(r).value();
}
inline void take(Result<void>&&) {}
}  // namespace berth::detail
