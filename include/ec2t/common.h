/* SPDX-License-Identifier: MIT */
/**
 * @file common.h
 * @brief Export macros, status codes, version queries and the root handle,
 *        ec2t_context.
 *
 * Every object of libec2t is created from an ec2t_context. The context owns
 * the memory allocator, the log handler, the worker threads and the defaults
 * (thread count, RNG seed) of the handles made from it. The library keeps no
 * global settings; its only process-wide state is each thread's last error
 * (see ec2t_context_errmsg()) and the OpenBLAS thread count it lowers while
 * its workers run (see EC2T_CTX_THREADS).
 *
 * Thread safety, unless a function says otherwise: a handle is used by one
 * thread at a time; distinct handles, even from one context, may be used
 * concurrently.
 */
#ifndef EC2T_COMMON_H
#define EC2T_COMMON_H

/*
 * EC2T_FFI_DECLARATIONS: define it to turn the headers into plain
 * declarations for an FFI generator (cffi's ffi.cdef(), and others built on
 * pycparser):
 *
 *     cc -E -P -DEC2T_FFI_DECLARATIONS $(pkg-config --cflags libec2t) \
 *         "$(pkg-config --variable=includedir libec2t)/ec2t/ec2t.h"
 *
 * gives text that ffi.cdef() accepts as is. With it defined, every attribute
 * macro below expands to nothing (unless defined beforehand), no system
 * header is included (the generator is expected to know size_t, int32_t,
 * int64_t, uint32_t and uint64_t, as cffi does), and the declarations that
 * take a va_list (ec2t_log_fn, ec2t_context_set_log_handler()) are left
 * out: bindings log through ec2t_context_set_log_message_handler(). The
 * #define constants do not survive preprocessing; a binding takes them from
 * the headers or from their runtime twins (ec2t_max_dims()). Never define
 * it to compile C code against libec2t.
 */
#ifndef EC2T_FFI_DECLARATIONS
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- export and attribute macros --------------------------------------- */

/**
 * @def EC2T_API
 * @brief Marks a function exported by the shared library.
 * @def EC2T_WARN_UNUSED
 * @brief The result must be used (constructors: the status says whether *out is valid).
 * @def EC2T_PRINTF
 * @brief printf-style format checking of argument @p fmt with arguments from @p args.
 * @def EC2T_DEPRECATED
 * @brief Marks a function that will be removed at the next soversion bump; @p msg says what to use.
 *
 * Each is defined here only when it is not defined yet, so that a tool or a
 * binding may define its own before including a libec2t header; with
 * EC2T_FFI_DECLARATIONS they all expand to nothing.
 */
#ifndef EC2T_API
#  if defined(EC2T_FFI_DECLARATIONS)
#    define EC2T_API
#  elif defined(_WIN32) || defined(__CYGWIN__)
#    if defined(EC2T_BUILDING_SHARED)
#      define EC2T_API __declspec(dllexport)
#    elif defined(EC2T_STATIC)
#      define EC2T_API
#    else
#      define EC2T_API __declspec(dllimport)
#    endif
#  elif defined(__GNUC__) && __GNUC__ >= 4
#    define EC2T_API __attribute__((visibility("default")))
#  else
#    define EC2T_API
#  endif
#endif

#if defined(__GNUC__) && !defined(EC2T_FFI_DECLARATIONS)
#  define EC2T__GNU_ATTRIBUTES 1
#endif

#ifndef EC2T_WARN_UNUSED
#  ifdef EC2T__GNU_ATTRIBUTES
#    define EC2T_WARN_UNUSED __attribute__((warn_unused_result))
#  else
#    define EC2T_WARN_UNUSED
#  endif
#endif

#ifndef EC2T_PRINTF
#  ifdef EC2T__GNU_ATTRIBUTES
#    define EC2T_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#  else
#    define EC2T_PRINTF(fmt, args)
#  endif
#endif

#ifndef EC2T_DEPRECATED
#  ifdef EC2T__GNU_ATTRIBUTES
#    define EC2T_DEPRECATED(msg) __attribute__((deprecated(msg)))
#  else
#    define EC2T_DEPRECATED(msg)
#  endif
#endif
#undef EC2T__GNU_ATTRIBUTES

/* ---- status codes ------------------------------------------------------- */

/**
 * @brief Result of every fallible call: 0 is success, errors are negative.
 *
 * Append only: values are never renumbered or reused.
 */
typedef enum ec2t_status {
    EC2T_OK = 0,               /**< success */
    EC2T_E_INVAL = -1,         /**< invalid argument (NULL handle, bad shape, bad value) */
    EC2T_E_NOMEM = -2,         /**< the allocator returned NULL, or EC2T_CTX_LOAD_LIMIT was reached */
    EC2T_E_IO = -3,            /**< a file could not be opened, read, written or renamed */
    EC2T_E_FORMAT = -4,        /**< a file or buffer is malformed, truncated or inconsistent */
    EC2T_E_UNSUPPORTED = -5,   /**< valid, but not supported by this build or version */
    EC2T_E_STATE = -6,         /**< the call does not fit the handle's current state */
    EC2T_E_RANGE = -7,         /**< a caller buffer is too small; the needed size is reported */
    EC2T_E_ABORTED = -8,       /**< a progress callback asked to stop */
    EC2T_E_INTERNAL = -9       /**< an internal invariant failed: a bug, please report it */
} ec2t_status;

/**
 * @brief A short static description of a status code.
 * @param status any value, known or not.
 * @return a static string, never NULL ("unknown status" for unknown values).
 * @threadsafety Safe from any thread.
 */
EC2T_API const char *ec2t_status_string(ec2t_status status);

/* ---- version ------------------------------------------------------------ */

/**
 * @brief The version of the library that is running, as
 *        MAJOR*10000 + MINOR*100 + MICRO.
 *
 * Compare with EC2T_VERSION_NUMBER from <ec2t/version.h> to detect a header /
 * library mismatch: `assert(ec2t_version_number() == EC2T_VERSION_NUMBER)`.
 * @return the version number, e.g. 100 for 0.1.0.
 * @threadsafety Safe from any thread.
 */
EC2T_API uint32_t ec2t_version_number(void);

/**
 * @brief The version of the running library as "MAJOR.MINOR.MICRO".
 * @return a static string, never NULL.
 * @threadsafety Safe from any thread.
 */
EC2T_API const char *ec2t_version_string(void);

/* ---- context ------------------------------------------------------------ */

/** @brief The root handle: allocator, log handler, last error, defaults. */
typedef struct ec2t_context ec2t_context;

/** @brief Severity of a log message; a handler sees levels up to the chosen maximum. */
typedef enum ec2t_log_level {
    EC2T_LOG_ERROR = 1,
    EC2T_LOG_WARN = 2,
    EC2T_LOG_INFO = 3,
    EC2T_LOG_DEBUG = 4
} ec2t_log_level;

#ifndef EC2T_FFI_DECLARATIONS
/**
 * @brief Log handler. @p fmt and @p ap are a printf format and its arguments;
 *        the text has no trailing newline. Bindings, which cannot implement
 *        a va_list callback, use ec2t_log_msg_fn instead.
 */
typedef void (*ec2t_log_fn)(void *user, ec2t_log_level level, const char *fmt, va_list ap)
    EC2T_PRINTF(3, 0);
#endif

/**
 * @brief Log handler that receives the formatted message: @p message is
 *        NUL-terminated, has no trailing newline and is valid only during the
 *        call. Messages longer than 1,023 bytes are cut to at most 1,023
 *        bytes, the last three being "...", at a UTF-8 character boundary.
 */
typedef void (*ec2t_log_msg_fn)(void *user, ec2t_log_level level, const char *message);

/**
 * @brief Allocation hook: return @p size bytes aligned to @p align (a power of
 *        two, at least sizeof(void *)), or NULL on failure.
 */
typedef void *(*ec2t_alloc_fn)(void *user, size_t size, size_t align);

/** @brief Release hook for memory returned by the matching ec2t_alloc_fn. NULL never reaches it. */
typedef void (*ec2t_release_fn)(void *user, void *ptr);

/** @brief Context options, set with ec2t_context_set_int(). Append only. */
typedef enum ec2t_context_param {
    /**
     * int: threads the library may use (1 to 1024; default 1). Setting a
     * count above one starts that many - 1 worker threads then and there
     * (setting 1 stops them); when one cannot be started or allocated, the
     * set fails with EC2T_E_NOMEM and the count before stays, workers
     * included. Calls never start, stop or allocate workers. A network
     * planned for another count plans again at its next forward pass.
     *
     * BLAS: while the library's workers run a job (each calling BLAS on its
     * part), OpenBLAS runs one thread per call, so that library and BLAS
     * threads together do not exceed this count; when the last such job in
     * the process ends, OpenBLAS's count is restored to what it was. Work the
     * calling thread does alone (a count of 1, or a job too small to split)
     * uses BLAS as the process set it (OPENBLAS_NUM_THREADS,
     * openblas_set_num_threads()).
     * Caveat: OpenBLAS's count is one setting for the whole process, so
     * while such a job runs, other BLAS calls in the process (NumPy, say)
     * run single-threaded too, and a count the program sets during the job
     * is replaced when the job ends. With a BLAS that cannot report its
     * thread count, the library never changes it.
     *
     * Results with one thread are deterministic; with several, deterministic
     * for a given count (floating-point sums are split the same way every
     * time), as far as the BLAS is (with several BLAS threads, up to its
     * reduction order).
     */
    EC2T_CTX_THREADS = 1,
    /** int: default seed of the handles made from this context (any int64; default 0x5eed). */
    EC2T_CTX_SEED = 2,
    /** int: highest ec2t_log_level passed to the log handler (0 to 4; default EC2T_LOG_WARN). */
    EC2T_CTX_LOG_LEVEL = 3,
    /**
     * int: most bytes of memory a loaded file may make the library allocate,
     * or ask the caller to allocate (0 to INT64_MAX; default 2^30, 1 GiB;
     * 0 = no limit but libec2t's own per-format rules). For services that
     * load files they did not write. A file over it is refused with
     * EC2T_E_NOMEM, and a message saying how much it needs and the limit,
     * before that memory is allocated. Counted per loaded object:
     * - every file read whole (models, checkpoints, .ec2t, safetensors):
     *   its size (the *_load_mem() variants copy a buffer the caller
     *   already holds, and are not capped for that copy);
     * - datasets (IDX, CIFAR): count * (pixel bytes + 13) bytes;
     * - .npy: the tensor's bytes;
     * - .ec2t: the entropy-coded ternary layers, 12 bytes per weight (the
     *   masks, index lists and any dense copy; libec2t's own rule, 64 MiB
     *   plus 4,096 bytes for every byte of the file, applies too), and the
     *   workspace of a batch of 1: ec2t_engine_load() (and
     *   ec2t_engine_compile()) refuse a program
     *   whose workspace exceeds the limit, and ec2t_engine_workspace_size()
     *   answers EC2T_E_NOMEM for a batch whose workspace would.
     * Coded layers and workspaces are what a file's size does not bound.
     * A library older than this option answers EC2T_E_UNSUPPORTED for it
     * (ec2t_context_param_bounds() tells).
     */
    EC2T_CTX_LOAD_LIMIT = 4
} ec2t_context_param;

/**
 * @brief Create a context that allocates with the C library.  CONSTRUCTOR: ec2t_context
 * @param[out] out the new context; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL (out is NULL) or EC2T_E_NOMEM.
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_context_new(ec2t_context **out) EC2T_WARN_UNUSED;

/**
 * @brief Create a context whose every allocation, its own included, goes
 *        through @p alloc and @p release.  CONSTRUCTOR: ec2t_context
 * @param alloc allocation hook (not NULL).
 * @param release release hook (not NULL).
 * @param user passed unchanged to both hooks.
 * @param[out] out the new context; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 * @threadsafety Safe from any thread. The hooks may be called from several
 *               threads at once when handles of this context are used concurrently.
 */
EC2T_API ec2t_status ec2t_context_new_with_allocator(ec2t_alloc_fn alloc, ec2t_release_fn release,
                                                     void *user, ec2t_context **out)
    EC2T_WARN_UNUSED;

/**
 * @brief Free a context.  DESTRUCTOR: ec2t_context
 *
 * Every handle made from the context must be freed first. NULL is a no-op.
 * @param ctx the context, or NULL.
 */
EC2T_API void ec2t_context_free(ec2t_context *ctx);

/**
 * @brief The message of the calling thread's last failure, if that failure
 *        was on this context or a handle made from it.  METHOD: ec2t_context
 *
 * Per thread, like errno: each thread keeps the message of the last call
 * that failed in it (on any context); this returns it when that call was on
 * @p ctx, and "" otherwise (this thread has not failed, or failed last on
 * another context). Failures in other threads never show here, so a message
 * is always whole and always the caller's own.
 * @param ctx the context (NULL is allowed).
 * @return a string owned by the calling thread; do not free it. It stays
 *         valid and unchanged until the same thread's next libec2t call (on
 *         any context; copy it first to keep it) or the thread's end; no
 *         other thread writes it, and freeing @p ctx leaves it alone. "" when
 *         there is nothing to report; a static text when @p ctx is NULL.
 * @threadsafety Safe from any thread, while other threads use the context.
 */
EC2T_API const char *ec2t_context_errmsg(const ec2t_context *ctx);

/**
 * @brief The status of the calling thread's last failure, if it was on this
 *        context (per thread, like ec2t_context_errmsg()).  METHOD: ec2t_context
 * @param ctx the context.
 * @return that status; EC2T_OK when this thread's last failure was on
 *         another context or there was none; EC2T_E_INVAL when @p ctx is NULL.
 * @threadsafety Safe from any thread, while other threads use the context.
 */
EC2T_API ec2t_status ec2t_context_errcode(const ec2t_context *ctx);

#ifndef EC2T_FFI_DECLARATIONS
/**
 * @brief Install a log handler, or remove it with NULL (the default: no logging).  METHOD: ec2t_context
 *
 * The context has one handler: this one replaces any handler installed
 * before, ec2t_context_set_log_message_handler()'s included. Messages above
 * EC2T_CTX_LOG_LEVEL never reach it.
 * @param ctx the context.
 * @param fn the handler, or NULL.
 * @param user passed unchanged to @p fn.
 * @return EC2T_OK, or EC2T_E_INVAL when @p ctx is NULL.
 * @threadsafety Not while other threads use handles of this context.
 */
EC2T_API ec2t_status ec2t_context_set_log_handler(ec2t_context *ctx, ec2t_log_fn fn, void *user);
#endif

/**
 * @brief Install a log handler that receives formatted messages, or remove
 *        it with NULL (the default: no logging).  METHOD: ec2t_context
 *
 * For bindings (cffi, ctypes...), which cannot implement a va_list
 * callback: the library formats each message into a buffer of its own
 * (messages over 1,023 bytes are cut, see ec2t_log_msg_fn) and passes the
 * text. The context has one handler: this one replaces any handler installed
 * before, ec2t_context_set_log_handler()'s included, and NULL leaves none.
 * Messages above EC2T_CTX_LOG_LEVEL are neither formatted nor passed.
 * @param ctx the context.
 * @param fn the handler, or NULL.
 * @param user passed unchanged to @p fn.
 * @return EC2T_OK, or EC2T_E_INVAL when @p ctx is NULL.
 * @threadsafety Not while other threads use handles of this context.
 */
EC2T_API ec2t_status ec2t_context_set_log_message_handler(ec2t_context *ctx, ec2t_log_msg_fn fn,
                                                          void *user);

/**
 * @brief Set a context option.  METHOD: ec2t_context
 * @param ctx the context.
 * @param param the option.
 * @param value its new value, within ec2t_context_param_bounds().
 * @return EC2T_OK; EC2T_E_INVAL for a NULL context or a value outside the
 *         bounds; EC2T_E_UNSUPPORTED for an unknown option; EC2T_E_NOMEM
 *         when the workers of a new EC2T_CTX_THREADS count cannot be
 *         started (the old count stays).
 * @threadsafety Not while other threads use handles of this context.
 */
EC2T_API ec2t_status ec2t_context_set_int(ec2t_context *ctx, ec2t_context_param param, int64_t value);

/**
 * @brief Read a context option.  METHOD: ec2t_context
 * @param ctx the context.
 * @param param the option.
 * @param[out] value receives its value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL argument) or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_context_get_int(const ec2t_context *ctx, ec2t_context_param param,
                                          int64_t *value);

/**
 * @brief The accepted range of a context option, inclusive.
 * @param param the option.
 * @param[out] lo receives the smallest accepted value.
 * @param[out] hi receives the largest accepted value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL pointer) or EC2T_E_UNSUPPORTED.
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_context_param_bounds(ec2t_context_param param, int64_t *lo, int64_t *hi);

#ifdef __cplusplus
}
#endif

#endif /* EC2T_COMMON_H */
