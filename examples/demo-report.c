/* SPDX-License-Identifier: MIT */
/* ec2t-demo's results: the counts, the side-by-side table, the key lines
 * and the SVG chart. Hand-made SVG keeps the demo free of plotting
 * dependencies; any browser shows it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo-report.h"
#include "ex-engine.h"

/* The counts of a network as ec2t_report makes them: params, adds, mults and
 * the share of zeros among its ternary weights (-1 without any); with layers,
 * also one entry per counted layer in a new array. */
static ec2t_status
count(const ec2t_net *net, demo_row *row, demo_layer **layers, int *n_layers)
{
    ec2t_report *rep = NULL;
    double v, weights = 0, zeros = 0;
    ec2t_status st = ec2t_report_new(net, 0, &rep);
    int32_t n;
    if (st != EC2T_OK)
        return st;
    ec2t_report_get(rep, -1, EC2T_REPORT_ADDS, &v);
    row->adds = (long long)v;
    ec2t_report_get(rep, -1, EC2T_REPORT_MULTS, &v);
    row->mults = (long long)v;
    row->params = (long long)ec2t_net_trainable_count(net);
    n = ec2t_report_layer_count(rep);
    if (layers && !(*layers = calloc((size_t)(n > 0 ? n : 1), sizeof **layers)))
        st = EC2T_E_NOMEM;
    for (int32_t i = 0; st == EC2T_OK && i < n; i++) {
        double id, w, z, t;
        ec2t_layer *l = NULL;
        ec2t_report_get(rep, i, EC2T_REPORT_LAYER_ID, &id);
        ec2t_report_get(rep, i, EC2T_REPORT_WEIGHTS, &w);
        ec2t_report_get(rep, i, EC2T_REPORT_ZEROS, &z);
        ec2t_report_get(rep, i, EC2T_REPORT_TERNARY, &t);
        if (t > 0)
            weights += w, zeros += z;
        if (layers) {
            demo_layer *dl = &(*layers)[(*n_layers)++];
            ec2t_net_layer((ec2t_net *)net, (int32_t)id, &l);
            snprintf(dl->name, sizeof dl->name, "%s", l ? ec2t_layer_name(l) : "?");
            dl->sparsity = w > 0 ? z / w : 0;
            dl->ternary = t > 0;
        }
    }
    row->sparsity = weights > 0 ? zeros / weights : -1;
    ec2t_report_free(rep);
    return st;
}

/* Engine latency of batch 1, in milliseconds. */
static ec2t_status
latency(ec2t_engine *e, double *ms)
{
    ex_runner r;
    float *x = NULL;
    ec2t_status st = ex_runner_init(&r, e, 1);
    if (st == EC2T_OK && !(x = ex_bench_inputs(r.in_size)))
        st = EC2T_E_NOMEM;
    if (st == EC2T_OK)
        *ms = 1e3 * ex_runner_latency(&r, x, 1);
    free(x);
    ex_runner_free(&r);
    return st;
}

ec2t_status
demo_measure_float(ec2t_net *net, ec2t_dataset *test, const char *path, demo_row *row)
{
    ec2t_engine *e = NULL;
    ec2t_status st = count(net, row, NULL, NULL);
    row->file_bytes = ex_file_size(path);
    row->sparsity = -1;
    if (st == EC2T_OK)
        st = ec2t_net_evaluate(net, test, 256, 0, NULL, &row->accuracy);
    if (st == EC2T_OK)
        st = ec2t_engine_compile(net, 0, &e);
    if (st == EC2T_OK)
        st = latency(e, &row->latency_ms);
    ec2t_engine_free(e);
    return st;
}

ec2t_status
demo_measure_engine(ec2t_engine *e, const char *path, const ec2t_net *net, ec2t_dataset *test,
                    demo_row *row, demo_layer **layers, int *n_layers)
{
    ex_runner r = {0};
    ec2t_status st = ex_runner_init(&r, e, 256);
    if (st == EC2T_OK)
        st = ex_runner_accuracy(&r, test, &row->accuracy, NULL);
    ex_runner_free(&r);
    if (st == EC2T_OK)
        st = latency(e, &row->latency_ms);
    if (st == EC2T_OK)
        st = count(net, row, layers, n_layers);
    row->file_bytes = ex_file_size(path);
    return st;
}

/* One standard error of an accuracy measured on n_test images, in points:
 * single runs that differ by less than about twice this are not told apart. */
static double
stderr_points(double accuracy, long long n_test)
{
    return 100 * sqrt(accuracy * (1 - accuracy) / (double)n_test);
}

static void
print_count(FILE *f, long long v, int width)
{
    if (v < 0)
        fprintf(f, "%*s", width, "-");
    else
        fprintf(f, "%*lld", width, v);
}

void
demo_print_table(FILE *f, const demo_row rows[3], long long n_test)
{
    const int n = 3;
    fprintf(f, "\n%-22s %9s %11s %8s %9s %8s %12s %10s %10s\n", "model", "test acc", "file bytes",
            "smaller", "params", "zeros", "adds", "mults", "latency");
    for (int i = 0; i < n; i++) {
        const demo_row *r = &rows[i];
        fprintf(f, "%-22s %8.2f%% ", r->name, 100 * r->accuracy);
        print_count(f, r->file_bytes, 11);
        if (r->file_bytes > 0 && rows[0].file_bytes > 0)
            fprintf(f, " %7.1fx", (double)rows[0].file_bytes / (double)r->file_bytes);
        else
            fprintf(f, " %8s", "-");
        fprintf(f, " ");
        print_count(f, r->params, 9);
        if (r->sparsity >= 0)
            fprintf(f, " %7.2f%%", 100 * r->sparsity);
        else
            fprintf(f, " %8s", "-");
        fprintf(f, " ");
        print_count(f, r->adds, 12);
        fprintf(f, " ");
        print_count(f, r->mults, 10);
        if (r->latency_ms >= 0)
            fprintf(f, " %7.3f ms\n", r->latency_ms);
        else
            fprintf(f, " %10s\n", "-");
    }
    fprintf(f, "(test acc: on %lld test images, one standard error about %.2f points;\n"
               " file bytes: .ec2tm model files for the float networks, the .ec2t file for the\n"
               " ternary one; zeros: share of the ternarized weights; adds and mults per image\n"
               " as ec2t_report counts them; latency: the engine, batch 1, median)\n\n",
            n_test, stderr_points(rows[2].accuracy, n_test));
}

void
demo_print_keys(FILE *f, const demo_row rows[3], long long n_test)
{
    static const char *const key[3] = {"small", "super", "ternary"};
    const demo_row *s = &rows[0], *t = &rows[2];
    for (int i = 0; i < 3; i++) {
        const demo_row *r = &rows[i];
        fprintf(f, "%s_accuracy: %.2f\n%s_file_bytes: %lld\n%s_params: %lld\n%s_adds: %lld\n"
                   "%s_mults: %lld\n%s_latency_ms: %.4f\n",
                key[i], 100 * r->accuracy, key[i], r->file_bytes, key[i], r->params, key[i],
                r->adds, key[i], r->mults, key[i], r->latency_ms);
    }
    fprintf(f, "sparsity: %.4f\ncompression: %.2f\naccuracy_gain: %.2f\naccuracy_stderr: %.2f\n",
            t->sparsity, (double)s->file_bytes / (double)t->file_bytes,
            100 * (t->accuracy - s->accuracy), stderr_points(t->accuracy, n_test));
}

/* Names come from layer names ([A-Za-z0-9_.-]) and fixed strings, but
 * escape anyway: an SVG is XML. */
static void
put_text(FILE *f, double x, double y, const char *anchor, int size, const char *text, double rotate)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\"", x, y, size, anchor);
    if (rotate != 0)
        fprintf(f, " transform=\"rotate(%.0f %.1f %.1f)\"", rotate, x, y);
    fputc('>', f);
    for (const char *c = text; *c; c++) {
        if (*c == '<')
            fputs("&lt;", f);
        else if (*c == '>')
            fputs("&gt;", f);
        else if (*c == '&')
            fputs("&amp;", f);
        else
            fputc(*c, f);
    }
    fputs("</text>\n", f);
}

enum { W = 1000, H = 460, TOP = 50, BOTTOM = 370 };

/* Left panel: one bar per counted layer, its share of zeros. */
static void
sparsity_panel(FILE *f, const demo_layer *layers, int n, double target)
{
    const double x0 = 60, x1 = 560, plot_h = BOTTOM - TOP;
    const double step = n > 0 ? (x1 - x0) / n : 0;
    char label[32];
    put_text(f, (x0 + x1) / 2, 30, "middle", 16, "Zeros per layer of the ternary super-network", 0);
    for (int t = 0; t <= 4; t++) {
        double y = BOTTOM - plot_h * t / 4.0;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0, y, x1, y);
        snprintf(label, sizeof label, "%d%%", 25 * t);
        put_text(f, x0 - 6, y + 4, "end", 11, label, 0);
    }
    for (int i = 0; i < n; i++) {
        double h = plot_h * layers[i].sparsity, x = x0 + i * step;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s: %.1f%%</title></rect>\n",
                x + step * 0.1, BOTTOM - h, step * 0.8, h, layers[i].ternary ? "#3b6fb6" : "#aaa",
                layers[i].name, 100 * layers[i].sparsity);
        if (n <= 40)
            put_text(f, x + step / 2, BOTTOM + 8, "end", 9, layers[i].name, -60);
    }
    if (target > 0) {
        double y = BOTTOM - plot_h * target;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c33\" stroke-dasharray=\"5,4\"/>\n",
                x0, y, x1, y);
        snprintf(label, sizeof label, "target %.0f%%", 100 * target);
        put_text(f, x1, y - 4, "end", 11, label, 0);
    }
    put_text(f, x0, H - 10, "start", 11, "blue: ternary layers, grey: kept in float", 0);
}

/* Right panel: accuracy against file size (log scale). */
static void
tradeoff_panel(FILE *f, const demo_row *rows, int n)
{
    const double x0 = 640, x1 = 970, plot_h = BOTTOM - TOP;
    double lo = 1e300, hi = 0, amin = 1, amax = 0;
    char label[64];
    for (int i = 0; i < n; i++) {
        if (rows[i].file_bytes > 0) {
            lo = fmin(lo, (double)rows[i].file_bytes);
            hi = fmax(hi, (double)rows[i].file_bytes);
        }
        amin = fmin(amin, rows[i].accuracy);
        amax = fmax(amax, rows[i].accuracy);
    }
    if (hi <= 0)
        return;
    lo = pow(10, floor(log10(lo))), hi = pow(10, ceil(log10(hi)));
    if (hi <= lo)
        hi = lo * 10;
    amin = floor(amin * 100 - 1) / 100, amax = ceil(amax * 100 + 1) / 100;
    put_text(f, (x0 + x1) / 2, 30, "middle", 16, "Test accuracy against file size", 0);
    for (double d = lo; d <= hi * 1.001; d *= 10) {
        double x = x0 + (x1 - x0) * log10(d / lo) / log10(hi / lo);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x, TOP, x, BOTTOM);
        snprintf(label, sizeof label, d >= 1e6 ? "%.0f MB" : d >= 1e3 ? "%.0f kB" : "%.0f B",
                 d >= 1e6 ? d / 1e6 : d >= 1e3 ? d / 1e3 : d);
        put_text(f, x, BOTTOM + 16, "middle", 11, label, 0);
    }
    for (int t = 0; t <= 4; t++) {
        double a = amin + (amax - amin) * t / 4.0, y = BOTTOM - plot_h * t / 4.0;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0, y, x1, y);
        snprintf(label, sizeof label, "%.1f%%", 100 * a);
        put_text(f, x0 - 6, y + 4, "end", 11, label, 0);
    }
    for (int i = 0; i < n; i++) {
        double x, y;
        if (rows[i].file_bytes <= 0)
            continue;
        x = x0 + (x1 - x0) * log10((double)rows[i].file_bytes / lo) / log10(hi / lo);
        y = BOTTOM - plot_h * (rows[i].accuracy - amin) / (amax - amin);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\"/>\n", x, y,
                i == n - 1 ? "#3b6fb6" : "#888");
        snprintf(label, sizeof label, "%s %.2f%%", rows[i].name, 100 * rows[i].accuracy);
        put_text(f, x, i % 2 ? y + 20 : y - 10, "middle", 11, label, 0); /* neighbours may overlap */
    }
    put_text(f, (x0 + x1) / 2, H - 10, "middle", 11, "file bytes (log scale)", 0);
}

int
demo_write_svg(const char *path, const demo_row *rows, int n, const demo_layer *layers,
               int n_layers, double target_sparsity)
{
    char tmp[4200];
    FILE *f;
    int bad;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(f = fopen(tmp, "w")))
        return 1;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H);
    sparsity_panel(f, layers, n_layers, target_sparsity);
    tradeoff_panel(f, rows, n);
    fputs("</svg>\n", f);
    bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return 1;
    }
    return 0;
}
