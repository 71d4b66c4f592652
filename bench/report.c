/* SPDX-License-Identifier: MIT */
/*
** report.c: rk-bench's outputs. The table puts each ringkernel figure
** beside its reference from the same run, as a ratio, with the target of
** performance.md and PASS or MISS; the JSON holds every series, figure and
** row; BASE.dat holds the latency distributions, and plot.sh draws them
** (BASE.png) when gnuplot is there.
*/
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef RKB_PLOT_SH
#define RKB_PLOT_SH "plot.sh"
#endif

/* One line of the table. */
typedef struct row {
  char figure[80];
  double value;          /* in unit */
  const char *unit;      /* "us" or "M/s" */
  char ref[64];          /* what the ratio is taken against, or "" */
  double ratio;          /* NAN when there is no reference */
  char target[64];       /* performance.md's target, or "" */
  int pass;              /* 1 PASS, 0 MISS, -1 not judged */
} row;

#define MAX_ROWS 64

typedef struct rows {
  row r[MAX_ROWS];
  size_t n;
} rows;

static row *add(rows *t, const char *fig, double v, const char *unit) {
  if (t->n == MAX_ROWS)
    return NULL;
  row *x = &t->r[t->n++];
  memset(x, 0, sizeof *x);
  snprintf(x->figure, sizeof x->figure, "%s", fig);
  x->value = v;
  x->unit = unit;
  x->ratio = NAN;
  x->pass = -1;
  return x;
}

/* A latency row: the value (us) of p (50, 99, 999) of series key, with its
** ratio to the same percentile of ref_key. NULL when key is absent. */
static row *lat_row(rows *t, const rkb_run *r, const char *key, int p,
                    const char *ref_key) {
  const rkb_lat *l = rkb_find_lat(r, key), *f = rkb_find_lat(r, ref_key);
  if (!l)
    return NULL;
  double v = p == 50 ? l->p50 : p == 99 ? l->p99 : l->p999;
  char fig[80];
  snprintf(fig, sizeof fig, "%s p%s", l->label, p == 999 ? "99.9" : p == 99 ? "99" : "50");
  row *x = add(t, fig, v / 1e3, "us");
  if (x && f && ref_key != key) {
    double fv = p == 50 ? f->p50 : p == 99 ? f->p99 : f->p999;
    snprintf(x->ref, sizeof x->ref, "%.40s p%s", f->key,
             p == 999 ? "99.9" : p == 99 ? "99" : "50");
    x->ratio = v / fv;
  }
  return x;
}

static row *thr_row(rows *t, const rkb_run *r, const char *key) {
  const rkb_thr *h = rkb_find_thr(r, key);
  return h ? add(t, h->label, h->rate / 1e6, "M/s") : NULL;
}

/* The best hand-written ring of the run (NULL if none ran). */
static const rkb_thr *best_ring(const rkb_run *r) {
  const rkb_thr *b = NULL;
  for (size_t i = 0; i < r->n_thr; i++)
    if (strncmp(r->thr[i].key, "gpu.ring", 8) == 0 &&
        (!b || r->thr[i].rate > b->rate))
      b = &r->thr[i];
  return b;
}

static void ref_rows(rows *t, const rkb_run *r) {
  row *x;
  if ((x = lat_row(t, r, "cpu.floor", 50, "cpu.floor")))
    snprintf(x->target, sizeof x->target, "(spec: 0.43 us on the H100 host)");
  lat_row(t, r, "cpu.floor", 99, "cpu.floor");
  if ((x = lat_row(t, r, "gpu.floor", 50, "gpu.floor")))
    snprintf(x->target, sizeof x->target, "(spec H100: 1.78 us)");
  if ((x = lat_row(t, r, "gpu.floor", 99, "gpu.floor")))
    snprintf(x->target, sizeof x->target, "(spec H100: 1.90 us)");
  if ((x = lat_row(t, r, "gpu.launch", 50, "gpu.launch")))
    snprintf(x->target, sizeof x->target, "(spec H100: 8.8 us)");
  if ((x = lat_row(t, r, "gpu.launch", 99, "gpu.launch")))
    snprintf(x->target, sizeof x->target, "(spec H100: 16.3 us)");
  if ((x = lat_row(t, r, "gpu.graph", 50, "gpu.graph")))
    snprintf(x->target, sizeof x->target, "(spec H100: 6.5 us)");
  if ((x = lat_row(t, r, "gpu.copy", 50, "gpu.copy")))
    snprintf(x->target, sizeof x->target, "(spec H100: 12.3 us)");
  for (size_t i = 0; i < r->n_thr; i++)
    if (strncmp(r->thr[i].key, "gpu.ring", 8) == 0 &&
        (x = add(t, r->thr[i].label, r->thr[i].rate / 1e6, "M/s")))
      snprintf(x->target, sizeof x->target, "(spec H100: 106-123 M/s)");
}

/* Judges x: ratio within max (or at least min, when max is 0). */
static void judge_ratio(row *x, double max, double min, const char *text) {
  if (!x)
    return;
  snprintf(x->target, sizeof x->target, "%s", text);
  if (!isnan(x->ratio))
    x->pass = max > 0 ? x->ratio <= max : x->ratio >= min;
}

static void cpu_rows(rows *t, const rkb_run *r) {
  row *x;
  judge_ratio(lat_row(t, r, "cpu.rtt", 50, "cpu.floor"), 2.0, 0,
              "<= 2x CPU floor");
  lat_row(t, r, "cpu.rtt", 99, "cpu.floor");
  lat_row(t, r, "cpu.rtt", 999, "cpu.floor");
  if ((x = thr_row(t, r, "cpu.thr1"))) {
    snprintf(x->target, sizeof x->target, ">= 10 M/s (aim 30)");
    x->pass = x->value >= 10.0;
  }
  const rkb_thr *one = rkb_find_thr(r, "cpu.thr1");
  const char *all[] = {"cpu.thr_all", "cpu.thr_actors", "cpu.thr_actors_grouped"};
  for (int i = 0; i < 3; i++)
    if ((x = thr_row(t, r, all[i])) && one && one->rate > 0) {
      snprintf(x->ref, sizeof x->ref, "cpu.thr1");
      x->ratio = x->value * 1e6 / one->rate;
    }
  const char *va[] = {"cpu.vecadd10", "cpu.vecadd25", "cpu.vecadd100"};
  for (int i = 0; i < 3; i++) {
    lat_row(t, r, va[i], 50, "cpu.floor");
    lat_row(t, r, va[i], 99, "cpu.floor");
  }
}

static void cuda_rows(rows *t, const rkb_run *r) {
  row *x;
  judge_ratio(lat_row(t, r, "cuda.rtt", 50, "gpu.floor"), 1.5, 0,
              "<= 1.5x GPU floor (aim 1.2)");
  const rkb_lat *rtt = rkb_find_lat(r, "cuda.rtt");
  const rkb_lat *la = rkb_find_lat(r, "gpu.launch");
  if (rtt && (x = add(t, "rk cuda round trip p50, speed-up", rtt->p50 / 1e3,
                      "us"))) {
    snprintf(x->target, sizeof x->target, ">= 3x faster than launch");
    if (la) {
      snprintf(x->ref, sizeof x->ref, "gpu.launch p50 / this p50");
      x->ratio = la->p50 / rtt->p50;
      x->pass = x->ratio >= 3.0;
    }
  }
  judge_ratio(lat_row(t, r, "cuda.rtt", 99, "gpu.floor"), 2.0, 0,
              "<= 2x GPU floor p99");
  lat_row(t, r, "cuda.rtt", 999, "gpu.floor");
  if ((x = thr_row(t, r, "cuda.thr1"))) {
    snprintf(x->target, sizeof x->target, ">= 20 M/s (aim 40)");
    x->pass = x->value >= 20.0;
  }
  const rkb_thr *one = rkb_find_thr(r, "cuda.thr1");
  if ((x = thr_row(t, r, "cuda.thr1_hosts")) && one && one->rate > 0) {
    snprintf(x->ref, sizeof x->ref, "cuda.thr1");
    x->ratio = x->value * 1e6 / one->rate;
  }
  const rkb_thr *ring = best_ring(r);
  const char *all[] = {"cuda.thr_all", "cuda.thr_actors",
                       "cuda.thr_actors_grouped"};
  for (int i = 0; i < 3; i++) {
    if (!(x = thr_row(t, r, all[i])))
      continue;
    snprintf(x->target, sizeof x->target, ">= 100 M/s, >= 0.9x ring (aim 250)");
    x->pass = x->value >= 100.0;
    if (ring && ring->rate > 0) {
      snprintf(x->ref, sizeof x->ref, "best ring: %.40s", ring->key);
      x->ratio = x->value * 1e6 / ring->rate;
      x->pass = x->pass && x->ratio >= 0.9;
    }
  }
  const char *va[] = {"cuda.vecadd10", "cuda.vecadd25", "cuda.vecadd100"};
  for (int i = 0; i < 3; i++) {
    lat_row(t, r, va[i], 50, "gpu.floor");
    lat_row(t, r, va[i], 99, "gpu.floor");
  }
}

static void build_rows(rows *t, const rkb_run *r) {
  memset(t, 0, sizeof *t);
  ref_rows(t, r);
  cpu_rows(t, r);
  cuda_rows(t, r);
  row *x = add(t, "messages lost (all runs)", (double)r->lost, "");
  if (x) {
    snprintf(x->target, sizeof x->target, "0");
    x->pass = r->lost == 0;
  }
  if ((x = add(t, "wrong answers or failed calls", (double)r->wrong, ""))) {
    snprintf(x->target, sizeof x->target, "0");
    x->pass = r->wrong == 0;
  }
}

static const char *verdict(int pass) {
  return pass < 0 ? "" : pass ? "PASS" : "MISS";
}

void rkb_print_table(const rkb_run *r) {
  rows t;
  build_rows(&t, r);
  printf("\n%-58s %12s  %-30s %8s  %-36s %s\n", "figure", "value",
         "reference (same run)", "ratio", "target (performance.md)", "");
  for (int i = 0; i < 156; i++)
    putchar('-');
  putchar('\n');
  for (size_t i = 0; i < t.n; i++) {
    const row *x = &t.r[i];
    char v[32], ratio[16];
    if (x->unit[0])
      snprintf(v, sizeof v, "%.3f %s", x->value, x->unit);
    else
      snprintf(v, sizeof v, "%.0f", x->value);
    if (isnan(x->ratio))
      snprintf(ratio, sizeof ratio, "%s", x->ref[0] ? "n/a" : "");
    else
      snprintf(ratio, sizeof ratio, "%.2fx", x->ratio);
    printf("%-58s %12s  %-30s %8s  %-36s %s\n", x->figure, v, x->ref, ratio,
           x->target, verdict(x->pass));
  }
  printf("answers checked: %llu\n", (unsigned long long)r->checked);
  for (size_t i = 0; i < r->n_notes; i++)
    printf("skipped or noted: %s\n", r->notes[i]);
}

/* ---------------------------------------------------------------- JSON */

static void jstr(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static void jnum(FILE *f, double v) {
  if (isnan(v) || isinf(v))
    fputs("null", f);
  else
    fprintf(f, "%.6g", v);
}

/* The CPU's model name from /proc/cpuinfo ("" if unknown). */
static void cpu_model(char *buf, size_t n) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[256];
  buf[0] = '\0';
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "model name", 10) == 0) {
      char *p = strchr(line, ':');
      if (p) {
        snprintf(buf, n, "%s", p + 2);
        buf[strcspn(buf, "\n")] = '\0';
      }
      break;
    }
  if (f)
    fclose(f);
}

static void json_series(FILE *f, const rkb_run *r) {
  fputs("  \"latency\": [\n", f);
  for (size_t i = 0; i < r->n_lat; i++) {
    const rkb_lat *l = &r->lat[i];
    fputs("    {\"key\": ", f);
    jstr(f, l->key);
    fputs(", \"label\": ", f);
    jstr(f, l->label);
    fprintf(f, ", \"samples\": %zu, \"p50_us\": %.4f, \"p99_us\": %.4f, "
            "\"p999_us\": %.4f, \"min_us\": %.4f, \"max_us\": %.4f, "
            "\"mean_us\": %.4f}%s\n", l->n, l->p50 / 1e3, l->p99 / 1e3,
            l->p999 / 1e3, l->min / 1e3, l->max / 1e3, l->mean / 1e3,
            i + 1 < r->n_lat ? "," : "");
  }
  fputs("  ],\n  \"throughput\": [\n", f);
  for (size_t i = 0; i < r->n_thr; i++) {
    const rkb_thr *h = &r->thr[i];
    fputs("    {\"key\": ", f);
    jstr(f, h->key);
    fputs(", \"label\": ", f);
    jstr(f, h->label);
    fprintf(f, ", \"msgs_per_s\": %.0f, \"msgs\": %llu, \"secs\": %.4f, "
            "\"workers\": %u, \"host_threads\": %u}%s\n", h->rate,
            (unsigned long long)h->msgs, h->secs, h->workers, h->host_threads,
            i + 1 < r->n_thr ? "," : "");
  }
  fputs("  ],\n", f);
}

static void json_rows(FILE *f, const rkb_run *r) {
  rows t;
  build_rows(&t, r);
  fputs("  \"rows\": [\n", f);
  for (size_t i = 0; i < t.n; i++) {
    const row *x = &t.r[i];
    fputs("    {\"figure\": ", f);
    jstr(f, x->figure);
    fputs(", \"value\": ", f);
    jnum(f, x->value);
    fputs(", \"unit\": ", f);
    jstr(f, x->unit);
    fputs(", \"reference\": ", f);
    jstr(f, x->ref);
    fputs(", \"ratio\": ", f);
    jnum(f, x->ratio);
    fputs(", \"target\": ", f);
    jstr(f, x->target);
    fputs(", \"result\": ", f);
    jstr(f, verdict(x->pass));
    fprintf(f, "}%s\n", i + 1 < t.n ? "," : "");
  }
  fputs("  ],\n  \"notes\": [", f);
  for (size_t i = 0; i < r->n_notes; i++) {
    fputs(i ? ", " : "", f);
    jstr(f, r->notes[i]);
  }
  fputs("],\n", f);
}

static int write_json(const rkb_opts *o, const rkb_run *r, const char *path,
                      const char *dat, const char *png, const char *argv_line) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  char host[128] = "", model[128], date[32];
  time_t now = time(NULL);
  struct tm tm;
  gethostname(host, sizeof host - 1);
  cpu_model(model, sizeof model);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  fputs("{\n  \"tool\": \"rk-bench\",\n  \"date\": ", f);
  jstr(f, date);
  fputs(",\n  \"command\": ", f);
  jstr(f, argv_line);
  fputs(",\n  \"host\": ", f);
  jstr(f, host);
  fputs(",\n  \"cpu\": ", f);
  jstr(f, model);
  fprintf(f, ",\n  \"cores\": %ld,\n  \"gpu\": ", sysconf(_SC_NPROCESSORS_ONLN));
  jstr(f, r->gpu_name);
  fprintf(f, ",\n  \"quick\": %s,\n  \"latency_data\": ",
          o->quick ? "true" : "false");
  jstr(f, dat);
  fputs(",\n  \"plot\": ", f);
  jstr(f, png);
  fputs(",\n", f);
  json_series(f, r);
  json_rows(f, r);
  fprintf(f, "  \"checked\": %llu,\n  \"wrong\": %llu,\n  \"lost\": %llu\n}\n",
          (unsigned long long)r->checked, (unsigned long long)r->wrong,
          (unsigned long long)r->lost);
  return fclose(f) == 0 ? 0 : -1;
}

/* ----------------------------------------------------- data and plot */

/* The distribution of each series: "latency_us fraction_below" for 1,000
** evenly spaced ranks plus every one of the slowest 1,000, one gnuplot
** index block per series headed "# series: LABEL". */
static int write_dat(const rkb_run *r, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  fputs("# rk-bench latency distributions: round trip (us), fraction of "
        "samples faster\n", f);
  for (size_t s = 0; s < r->n_lat; s++) {
    const rkb_lat *l = &r->lat[s];
    fprintf(f, "%s# series: %s\n", s ? "\n\n" : "", l->label);
    size_t step = l->n > 1000 ? l->n / 1000 : 1;
    size_t tail = l->n > 1000 ? l->n - 1000 : 0;
    for (size_t i = 0; i < l->n; i++)
      if (i % step == 0 || i >= tail)
        fprintf(f, "%.4f %.7f\n", (double)l->ns[i] / 1e3,
                (double)i / (double)l->n);
  }
  return fclose(f) == 0 ? 0 : -1;
}

static int have_gnuplot(void) {
  return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* Runs plot.sh dat png; the script's path is compiled in. */
static int draw(const char *dat, const char *png) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "sh '%s' '%s' '%s'", RKB_PLOT_SH, dat, png);
  return system(cmd) == 0 ? 0 : -1;
}

int rkb_write_outputs(const rkb_opts *o, const rkb_run *r, const char *json,
                      const char *argv_line) {
  char base[1024], dat[1100], png[1100];
  snprintf(base, sizeof base, "%s", json);
  size_t n = strlen(base);
  if (n > 5 && strcmp(base + n - 5, ".json") == 0)
    base[n - 5] = '\0';
  snprintf(dat, sizeof dat, "%s.dat", base);
  snprintf(png, sizeof png, "%s.png", base);
  int rc = 0;
  if (write_dat(r, dat) != 0) {
    fprintf(stderr, "rk-bench: cannot write %s\n", dat);
    rc = -1;
  }
  if (write_json(o, r, json, dat, png, argv_line) != 0) {
    fprintf(stderr, "rk-bench: cannot write %s\n", json);
    rc = -1;
  }
  printf("wrote %s and %s\n", json, dat);
  if (rc == 0 && !have_gnuplot())
    printf("no plot: gnuplot not found; draw it elsewhere with: "
           "bench/plot.sh %s %s\n", json, png);
  else if (rc == 0 && draw(dat, png) == 0)
    printf("wrote %s\n", png);
  else if (rc == 0)
    printf("no plot: plot.sh failed (see above)\n");
  return rc;
}
