/* SPDX-License-Identifier: MIT */
/*
** cuda_api.h: the few CUDA driver types, constants and entry-point types
** librk uses, written here so that librk builds with no CUDA toolkit. The
** values are the driver ABI's (cuda.h of CUDA 12/13); each function type is
** resolved through cuGetProcAddress at the CUDA version in RK_CU_ENTRIES.
*/
#ifndef RK_CUDA_API_H
#define RK_CUDA_API_H

#include <stddef.h>
#include <stdint.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;

enum {
  RK_CU_SUCCESS = 0,
  RK_CU_ERROR_INVALID_VALUE = 1,
  RK_CU_ERROR_NOT_INITIALIZED = 3,
  RK_CU_ERROR_STUB_LIBRARY = 34,
  RK_CU_ERROR_INSUFFICIENT_DRIVER = 35,
  RK_CU_ERROR_NO_DEVICE = 100,
  RK_CU_ERROR_INVALID_IMAGE = 200,
  RK_CU_ERROR_NO_BINARY_FOR_GPU = 209,
  RK_CU_ERROR_UNSUPPORTED_PTX_VERSION = 222,
  RK_CU_ERROR_NOT_FOUND = 500,
  RK_CU_ERROR_NOT_READY = 600,
  RK_CU_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE = 720
};

enum {
  RK_CU_DEV_MAX_THREADS_PER_BLOCK = 1,
  RK_CU_DEV_MAX_SHARED_PER_BLOCK = 8,
  RK_CU_DEV_CLOCK_RATE = 13, /* kHz */
  RK_CU_DEV_SM_COUNT = 16,
  RK_CU_DEV_CAN_MAP_HOST_MEMORY = 19,
  RK_CU_DEV_UNIFIED_ADDRESSING = 41,
  RK_CU_DEV_CC_MAJOR = 75,
  RK_CU_DEV_CC_MINOR = 76,
  RK_CU_DEV_COOPERATIVE_LAUNCH = 95,
  RK_CU_DEV_MAX_SHARED_PER_BLOCK_OPTIN = 97
};

enum {
  RK_CU_FUNC_MAX_THREADS_PER_BLOCK = 0,
  RK_CU_FUNC_SHARED_SIZE_BYTES = 1,
  RK_CU_FUNC_NUM_REGS = 4,
  RK_CU_FUNC_MAX_DYNAMIC_SHARED = 8
};

#define RK_CU_MEMHOSTALLOC_PORTABLE 0x01u
#define RK_CU_MEMHOSTALLOC_DEVICEMAP 0x02u
#define RK_CU_STREAM_NON_BLOCKING 0x1u

/* cuGetProcAddress_v2 (CUDA 12.0+); the v1 form lacks the last argument. */
typedef CUresult (*rk_cuGetProcAddress_v2_t)(const char *symbol, void **pfn,
                                             int cuda_version,
                                             uint64_t flags, int *status);
typedef CUresult (*rk_cuGetProcAddress_t)(const char *symbol, void **pfn,
                                          int cuda_version, uint64_t flags);

/* X(name, version, return-and-arguments): one list declares the table of
** entry points and drives their lookup. version: the CUDA version whose ABI
** the type below matches (the _v2 forms of 3.2, and so on). */
#define RK_CU_ENTRIES(X)                                                     \
  X(cuInit, 2000, (unsigned flags))                                          \
  X(cuDriverGetVersion, 2020, (int *version))                                \
  X(cuDeviceGetCount, 2000, (int *count))                                    \
  X(cuDeviceGet, 2000, (CUdevice *dev, int ordinal))                         \
  X(cuDeviceGetName, 2000, (char *name, int len, CUdevice dev))              \
  X(cuDeviceGetAttribute, 2000, (int *v, int attr, CUdevice dev))            \
  X(cuDevicePrimaryCtxRetain, 7000, (CUcontext *ctx, CUdevice dev))          \
  X(cuDevicePrimaryCtxRelease, 11000, (CUdevice dev))                        \
  X(cuCtxSetCurrent, 4000, (CUcontext ctx))                                  \
  X(cuStreamCreate, 2000, (CUstream *s, unsigned flags))                     \
  X(cuStreamQuery, 2000, (CUstream s))                                       \
  X(cuStreamSynchronize, 2000, (CUstream s))                                 \
  X(cuStreamDestroy, 4000, (CUstream s))                                     \
  X(cuMemHostAlloc, 2020, (void **p, size_t bytes, unsigned flags))          \
  X(cuMemHostGetDevicePointer, 3020,                                         \
    (CUdeviceptr *d, void *p, unsigned flags))                               \
  X(cuMemFreeHost, 2000, (void *p))                                          \
  X(cuMemAlloc, 3020, (CUdeviceptr *d, size_t bytes))                        \
  X(cuMemFree, 3020, (CUdeviceptr d))                                        \
  X(cuMemcpyHtoDAsync, 3020,                                                 \
    (CUdeviceptr d, const void *src, size_t bytes, CUstream s))              \
  X(cuModuleLoadData, 2000, (CUmodule *m, const void *image))                \
  X(cuModuleUnload, 2000, (CUmodule m))                                      \
  X(cuModuleGetFunction, 2000, (CUfunction *f, CUmodule m, const char *n))   \
  X(cuFuncGetAttribute, 2020, (int *v, int attr, CUfunction f))              \
  X(cuFuncSetAttribute, 9000, (CUfunction f, int attr, int v))               \
  X(cuOccupancyMaxActiveBlocksPerMultiprocessor, 6050,                       \
    (int *n, CUfunction f, int block, size_t dyn_smem))                      \
  X(cuLaunchCooperativeKernel, 9000,                                         \
    (CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,       \
     unsigned by, unsigned bz, unsigned smem, CUstream s, void **params))    \
  X(cuGetErrorName, 6000, (CUresult e, const char **name))

typedef struct rk_cu_api {
#define RK__CU_FIELD(name, ver, args) CUresult(*name) args;
  RK_CU_ENTRIES(RK__CU_FIELD)
#undef RK__CU_FIELD
} rk_cu_api;

#endif /* RK_CUDA_API_H */
