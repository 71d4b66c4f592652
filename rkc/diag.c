/* SPDX-License-Identifier: MIT */
/* placeholder: being written */
typedef int rk_placeholder_diag;
