/* SPDX-License-Identifier: MIT */
/* ec2t-demo's results: the side-by-side table and the SVG chart. Hand-made
 * SVG keeps the demo free of plotting dependencies; any browser shows it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "demo-chart.h"

static void
print_count(FILE *f, long long v, int width)
{
    if (v < 0)
        fprintf(f, "%*s", width, "-");
    else
        fprintf(f, "%*lld", width, v);
}

void
demo_print_table(FILE *f, const demo_row *rows, int n)
{
    fprintf(f, "%-22s %9s %11s %8s %9s %8s %12s %10s %10s\n", "model", "test acc", "file bytes",
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
