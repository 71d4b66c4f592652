/* SPDX-License-Identifier: MIT */
/*
** rk.h: the one public header of librk, the ringkernel runtime.
**
** Programs include it (directly or through rkc's generated NAME.rk.h) to
** create a runtime, launch ring kernels, and send and receive messages.
** Every call returns an rk_status; rk_error_detail() gives this thread's last
** detail string. Handles are opaque and owned by librk.
**
** The section "For generated code" at the end is the contract between rkc's
** output and librk; its layout is versioned by RK_GEN_ABI.
*/
#ifndef RK_H
#define RK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RK_VERSION_MAJOR 0
#define RK_VERSION_MINOR 1
#define RK_VERSION_PATCH 0
#define RK_VERSION_STRING "0.1.0"

/* Version of the interface between generated code and librk. Generated
** files check it with #error so stale output never links against a newer
** runtime. */
#define RK_GEN_ABI 1

#if defined(RK_BUILDING_LIBRK)
#define RK_API __attribute__((visibility("default")))
#else
#define RK_API
#endif

/* ---------------------------------------------------------------- status */

/* X(name, value, text): one list drives the enum, rk_status_str and
** rk_status_text so they never drift apart. */
#define RK_STATUS_MAP(X)                                                    \
  X(OK, 0, "success")                                                       \
  X(E_TIMEOUT, 1, "timed out")                                              \
  X(E_INVALID, 2, "invalid argument")                                       \
  X(E_NOMEM, 3, "out of memory")                                            \
  X(E_CONFIG, 4, "bad configuration")                                       \
  X(E_DECODE, 5, "malformed wire data")                                     \
  X(E_NO_DEVICE, 6, "no usable GPU")                                        \
  X(E_CUDA, 7, "CUDA driver error")                                         \
  X(E_COMPILE, 8, "kernel compilation failed")                              \
  X(E_COOPERATIVE, 9, "cooperative launch impossible")                      \
  X(E_DEVICE_FAULT, 10, "the device faulted")                               \
  X(E_HANDLER, 11, "the handler failed")                                    \
  X(E_TERMINATED, 12, "kernel terminated")                                  \
  X(E_IO, 13, "input/output error")

typedef enum rk_status {
#define RK__STATUS_ENUM(name, value, text) RK_##name = value,
  RK_STATUS_MAP(RK__STATUS_ENUM)
#undef RK__STATUS_ENUM
} rk_status;

/* "RK_E_TIMEOUT" for RK_E_TIMEOUT; "RK_E_UNKNOWN" for a value not listed. */
RK_API const char *rk_status_str(rk_status s);
/* A short English text: "timed out". */
RK_API const char *rk_status_text(rk_status s);
/* This thread's detail string for the last call that failed ("" if none).
** Valid until this thread's next librk call. */
RK_API const char *rk_error_detail(void);

/* --------------------------------------------------------------- logging */

typedef enum rk_log_level {
  RK_LOG_ERROR = 0,
  RK_LOG_WARN = 1,
  RK_LOG_INFO = 2,
  RK_LOG_DEBUG = 3
} rk_log_level;

/* Receives each log line (no trailing newline). May be called from any
** librk thread. */
typedef void (*rk_log_fn)(rk_log_level level, const char *line, void *user);

/* Replaces the log function; NULL restores the default (stderr). Lines above
** the log level are not formatted at all; the level is the process's, the
** most verbose log_level of the live runtimes (info when there is none).
** The function is called with one line at a time and may itself call
** librk, rk_log_set included. */
RK_API void rk_log_set(rk_log_fn fn, void *user);

/* -------------------------------------------------------------- backends */

typedef enum rk_backend {
  RK_BACKEND_AUTO = 0,
  RK_BACKEND_CPU = 1,
  RK_BACKEND_CUDA = 2
} rk_backend;

/* "auto", "cpu", "cuda". */
RK_API const char *rk_backend_name(rk_backend b);

/* --------------------------------------------------------- configuration */

typedef struct rk_config rk_config;

/* A config holding the defaults (backend auto, device 0, log_level info,
** cache_dir from RK_CACHE_DIR / XDG_CACHE_HOME / ~/.cache). */
RK_API rk_status rk_config_new(rk_config **cfg);
/* Reads a YAML file. On any error in it (syntax, unknown or duplicate key,
** wrong type, bad value) returns RK_E_CONFIG with "file:line:col: ..." in
** rk_error_detail(); a file that cannot be opened or read is RK_E_IO with
** the path and the reason. Either way it stores NULL: nothing is
** half-read. */
RK_API rk_status rk_config_load_yaml(const char *path, rk_config **cfg);
/* The same from memory; name is used in positions ("<string>" if NULL). */
RK_API rk_status rk_config_load_yaml_string(const char *text, size_t len,
                                            const char *name,
                                            rk_config **cfg);
/* Sets one key as the program's own choice, with the YAML key names:
** "backend", "device", "cache_dir", "log_level", and
** "kernels.NAME.capacity" / ".block" / ".grid" / ".cpu_threads" /
** ".backend". Values are checked as in YAML. A backend set here outranks
** RK_BACKEND. */
RK_API rk_status rk_config_set(rk_config *cfg, const char *key,
                               const char *value);
RK_API void rk_config_free(rk_config *cfg);

/* --------------------------------------------------------------- runtime */

typedef struct rk_runtime rk_runtime;

/* Creates a runtime. cfg may be NULL: then the file named by RK_CONFIG is
** read, if set. RK_BACKEND overrides the config's backend unless the program
** set it with rk_config_set. The config is copied; the caller still owns
** it. */
RK_API rk_status rk_runtime_create(const rk_config *cfg, rk_runtime **rt);
/* Terminates every kernel of the runtime and frees everything. NULL is a
** no-op. */
RK_API void rk_runtime_destroy(rk_runtime *rt);
/* The backend that a kernel with backend auto gets in this runtime. */
RK_API rk_backend rk_runtime_backend(rk_runtime *rt);

/* ---------------------------------------------------------------- kernels */

typedef struct rk_kernel rk_kernel;

typedef struct rk_kernel_stats {
  uint64_t received;        /* sends accepted */
  uint64_t handled;         /* messages whose handler ran */
  uint64_t replied;         /* responses produced (failed ones included) */
  uint64_t failed;          /* handlers that called rk_fail */
  uint64_t unhandled;       /* accepted, never handled (after terminate) */
  uint64_t queue_depth;     /* accepted and not yet handled, now */
  uint64_t queue_depth_max; /* the largest queue_depth seen */
  uint64_t queue_bytes;     /* bytes of all this kernel's queues */
  uint64_t uptime_ns;       /* since launch (until terminate) */
  uint32_t grid;            /* workers */
  uint32_t block;           /* threads per worker */
  rk_backend backend;       /* RK_BACKEND_CPU or RK_BACKEND_CUDA */
} rk_kernel_stats;

/* Lifecycle: launched kernels are resident and active. deactivate keeps
** them resident but handling nothing (messages queue up); activate resumes.
** terminate lets an active kernel handle what is queued, then stops it and
** reports (in final, which may be NULL) what was handled and left. Every
** later call on it returns RK_E_TERMINATED; the handle stays valid until
** rk_runtime_destroy. */
RK_API rk_status rk_kernel_activate(rk_kernel *k);
RK_API rk_status rk_kernel_deactivate(rk_kernel *k);
RK_API rk_status rk_kernel_stats_get(rk_kernel *k, rk_kernel_stats *out);
RK_API rk_status rk_kernel_terminate(rk_kernel *k, rk_kernel_stats *final);
/* The kernel's name as in the schema. */
RK_API const char *rk_kernel_name(const rk_kernel *k);

/* ======================================================================
** For generated code. Programs use the typed wrappers in NAME.rk.h; these
** are what those wrappers call. Fields may change with RK_GEN_ABI.
** ==================================================================== */

/* -- wire format (encode/decode tables) -- */

typedef enum rk_wire_kind {
  RK_W_BOOL, RK_W_I8, RK_W_U8, RK_W_I16, RK_W_U16, RK_W_I32, RK_W_U32,
  RK_W_I64, RK_W_U64, RK_W_F32, RK_W_F64, RK_W_MSG
} rk_wire_kind;

struct rk_wire_msg;

typedef struct rk_wire_field {
  uint32_t kind;        /* rk_wire_kind; an enum field has its base kind */
  uint32_t offset;      /* byte offset in the C struct */
  uint32_t count;       /* 0: a scalar; else a fixed array of count */
  int32_t len_field;    /* index in this table of the @len field, or -1 */
  uint32_t n_enum;      /* an enum: how many values it declares; else 0 */
  const uint64_t *enum_values; /* those values, as 64-bit patterns */
  const struct rk_wire_msg *msg; /* RK_W_MSG: the nested message */
} rk_wire_field;

typedef struct rk_wire_msg {
  const char *name;     /* "vecadd.VectorAddRequest" */
  uint32_t size;        /* sizeof the C struct */
  uint32_t n_fields;
  const rk_wire_field *fields;
  uint64_t encoded_max; /* the largest encoding in bytes */
} rk_wire_msg;

/* Encodes *m: little-endian, declaration order, no padding, @len arrays only
** their meaningful elements. RK_E_INVALID (with detail) when cap is too small
** or a @len count exceeds its bound; *len gets the bytes written. */
RK_API rk_status rk_wire_encode(const rk_wire_msg *d, const void *m,
                                uint8_t *buf, size_t cap, size_t *len);
/* Decodes buf into *m (zeroed first). Never reads past len. RK_E_DECODE for
** a short buffer, trailing bytes, a length over its bound, a bool not 0/1,
** an enum value not declared; the detail names the field and offset. */
RK_API rk_status rk_wire_decode(const rk_wire_msg *d, void *m,
                                const uint8_t *buf, size_t len);

/* -- handler context (host) -- */

/* What a handler body sees as ctx on the CPU backend. */
typedef struct rk_ctx {
  uint32_t actor;      /* rk_actor(ctx) */
  uint32_t worker;     /* the worker running it */
  uint32_t flags;      /* RK_CTX_NO_REPLY, RK_CTX_FAILED */
  int32_t fail_code;   /* rk_fail's code */
} rk_ctx;

#define RK_CTX_NO_REPLY 1u
#define RK_CTX_FAILED 2u

/* Runs the handler for type_id on one message. req: the request payload;
** resp: a zeroed buffer of desc->resp_max bytes; state: the actor's state
** (NULL in a stateless kernel). Returns the response type id written to resp,
** 0 when the handler has no response, or RK_DISPATCH_UNKNOWN when the kernel
** has no handler for type_id. ctx->flags say no-reply or failure. */
typedef uint32_t (*rk_dispatch_fn)(rk_ctx *ctx, uint32_t type_id,
                                   const void *req, void *resp, void *state);
#define RK_DISPATCH_UNKNOWN 0xffffffffu

/* -- kernel descriptor -- */

typedef struct rk_msg_type {
  uint32_t id;            /* type id */
  uint32_t size;          /* sizeof the C struct */
  const char *name;       /* "vecadd.VectorAddRequest" */
  const rk_wire_msg *wire;
} rk_msg_type;

typedef struct rk_handler_desc {
  uint32_t req_id;        /* request type id */
  uint32_t resp_id;       /* response type id, 0 if one-way */
} rk_handler_desc;

typedef struct rk_kernel_desc {
  uint32_t abi;           /* RK_GEN_ABI of the generator */
  const char *name;       /* "VectorAddProcessor" (config key) */
  const char *qualified;  /* "vecadd.VectorAddProcessor" */
  uint32_t capacity;      /* schema's capacity (power of two) */
  uint32_t block;         /* schema's block */
  uint32_t grid;          /* schema's grid; 0 = auto */
  uint32_t actors;        /* schema's actors (1 when stateless) */
  rk_backend backend;     /* schema's backend */
  uint32_t has_state;     /* 1 if the kernel declares state */
  uint32_t state_size;    /* sizeof one actor's state (0 if none) */
  uint32_t state_align;
  void (*state_init)(void *state); /* zeroes and applies defaults */
  uint32_t n_handlers;
  const rk_handler_desc *handlers;
  uint32_t n_types;       /* every type the kernel receives or sends */
  const rk_msg_type *types;
  uint32_t req_max;       /* largest request struct */
  uint32_t resp_max;      /* largest response struct (0 if none) */
  rk_dispatch_fn dispatch;
  const char *cuda_source; /* the NAME.rk.cu text, NUL-terminated */
  const char *cuda_entry;  /* the __global__ function's name */
} rk_kernel_desc;

/* Any actor: a stateless kernel's messages go to any worker. */
#define RK_ACTOR_ANY 0xffffffffu

RK_API rk_status rk_kernel_launch(rk_runtime *rt, const rk_kernel_desc *d,
                                  rk_kernel **k);

/* Sends one message of type_id (size bytes at msg) to actor (RK_ACTOR_ANY in
** a stateless kernel). A full queue waits up to timeout_ns (0: try once,
** < 0: for ever), then RK_E_TIMEOUT; nothing is dropped. *correlation (may be
** NULL) gets the id, increasing in acceptance order. */
RK_API rk_status rk_kernel_send(rk_kernel *k, uint32_t type_id,
                                uint32_t actor, const void *msg, size_t size,
                                int64_t timeout_ns, uint64_t *correlation);
/* Sends n messages laid out size bytes apart. actors may be NULL (all to
** actor 0, or any worker when stateless). *sent gets how many were accepted,
** in order; RK_OK only when all were. correlations may be NULL. */
RK_API rk_status rk_kernel_send_batch(rk_kernel *k, uint32_t type_id,
                                      const uint32_t *actors, const void *msgs,
                                      size_t size, size_t n,
                                      int64_t timeout_ns,
                                      uint64_t *correlations, size_t *sent);
/* Receives one response of type_id into msg (size bytes). A response whose
** handler called rk_fail returns RK_E_HANDLER with *correlation set and the
** code in rk_error_detail(). Waits as send does. */
RK_API rk_status rk_kernel_recv(rk_kernel *k, uint32_t type_id, void *msg,
                                size_t size, int64_t timeout_ns,
                                uint64_t *correlation);
/* Receives up to max responses (waits for the first as recv does). statuses
** (may be NULL) gets RK_OK or RK_E_HANDLER for each; when it is NULL the
** call stops before a failed response, and returns RK_E_HANDLER with *got = 1
** when that one is first. */
RK_API rk_status rk_kernel_recv_batch(rk_kernel *k, uint32_t type_id,
                                      void *msgs, size_t size, size_t max,
                                      int64_t timeout_ns,
                                      uint64_t *correlations,
                                      rk_status *statuses, size_t *got);

#ifdef __cplusplus
}
#endif

#endif /* RK_H */
