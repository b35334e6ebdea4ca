/* The two hot spots of bulk passage embedding with multilingual-e5-small (head size 32), compiled for AVX2/FMA.
 *
 * attention: per head, K minus its mean over the valid keys (softmax ignores a constant shift of a row's scores,
 * so this is exact) and Q are rounded to int8 range per token, V per channel, the softmax numerators
 * exp(s - max) to 0..255. Both products then run as int16 pair products (vpmaddwd: 16 multiply-adds per
 * instruction, twice float32's rate on AVX2) and are rescaled in float (docs/benchmarks.md has the gain).
 *
 * gelu_rows: GELU of the FFN's hidden layer and its per-token scaling for the int8 output layer in one pass.
 *
 * Built with -mavx2 -mfma (setup.py, an optional extension: where it does not build, torch's operations run);
 * embed/e5/torch_engine.py imports it only on CPUs that torch reports as AVX2-capable (AVX2 and FMA).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__AVX2__) || !defined(__FMA__)
#error "build with -mavx2 -mfma"
#endif

#define D 32  /* head size */
#define RB 4  /* query rows per block: one load of K serves four rows */

/* exp(x) for x <= 0, Cephes' polynomial (relative error ~1e-7) */
static inline __m256 exp256(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.0f);
    x = _mm256_max_ps(x, lo);
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201E-1f));
    __m256 r2 = _mm256_mul_ps(r, r);
    y = _mm256_fmadd_ps(y, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

static inline float hmax(__m256 v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

static inline int32_t hsum_i(__m256i v) {
    __m128i a = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0x4e));
    a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0xb1));
    return _mm_cvtsi128_si32(a);
}


static inline __m256 absmax32(const float *x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
    for (int t = 8; t < D; t += 8)
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + t)));
    return m;
}

/* 32 floats times their multipliers `inv` (8 per vector), rounded to int16, in order */
static inline void round32(const float *x, const __m256 inv[4], int16_t *out) {
    __m256i r[4];
    for (int t = 0; t < 4; t++)
        r[t] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * t), inv[t]));
    _mm256_storeu_si256((__m256i *)out, _mm256_permute4x64_epi64(_mm256_packs_epi32(r[0], r[1]), 0xd8));
    _mm256_storeu_si256((__m256i *)(out + 16), _mm256_permute4x64_epi64(_mm256_packs_epi32(r[2], r[3]), 0xd8));
}

/* One token's 32 values to int8 range with one scale (returned); zero for padding */
static inline float round_token(const float *x, int16_t *out) {
    float m = hmax(absmax32(x)), scale = m > 0 ? m / 127 : 1;
    __m256 inv = _mm256_set1_ps(1 / scale), invs[4] = {inv, inv, inv, inv};
    round32(x, invs, out);
    return scale;
}

typedef struct {
    int L, n, Lp;        /* tokens, valid tokens (keys), valid rounded up to 8 */
    int16_t *k, *q, *v;  /* K as [D/2][Lp] pairs of channels, Q as [L][D], V as [Lp/2][D] pairs of keys */
    float *k_scale, *q_scale, v_scale[D];
    float *scores;       /* RB rows of Lp */
    int16_t *weights;    /* RB rows of Lp: exp(s - max) * 255 */
} Head;

static void quantise(Head *h, const float *q, const float *k, const float *v, long stride) {
    float mean[D] __attribute__((aligned(32))) = {0}, shifted[D] __attribute__((aligned(32)));
    int16_t row[D] __attribute__((aligned(32))), row2[D] __attribute__((aligned(32)));
    for (int j = 0; j < h->n; j++)
        for (int c = 0; c < D; c++) mean[c] += k[j * stride + c];
    for (int c = 0; c < D; c++) mean[c] /= h->n;
    for (int j = 0; j < h->Lp; j++) {
        if (j < h->n) {
            for (int c = 0; c < D; c++) shifted[c] = k[j * stride + c] - mean[c];
            h->k_scale[j] = round_token(shifted, row);
        } else {
            h->k_scale[j] = 1;
            memset(row, 0, sizeof row);
        }
        for (int pair = 0; pair < D / 2; pair++)
            memcpy(h->k + 2 * (pair * h->Lp + j), row + 2 * pair, 2 * sizeof(int16_t));
    }
    for (int i = 0; i < h->L; i++)
        h->q_scale[i] = round_token(q + i * stride, h->q + i * D);
    __m256 vmax[4];
    for (int t = 0; t < 4; t++) vmax[t] = _mm256_setzero_ps();
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int j = 0; j < h->n; j++)
        for (int t = 0; t < 4; t++)
            vmax[t] = _mm256_max_ps(vmax[t], _mm256_andnot_ps(sign, _mm256_loadu_ps(v + j * stride + 8 * t)));
    float inverse[D] __attribute__((aligned(32)));
    for (int t = 0; t < 4; t++) _mm256_store_ps(h->v_scale + 8 * t, vmax[t]);
    for (int c = 0; c < D; c++) {
        h->v_scale[c] = h->v_scale[c] > 0 ? h->v_scale[c] / 127 : 1;
        inverse[c] = 1 / h->v_scale[c];
    }
    __m256 inv[4];
    for (int t = 0; t < 4; t++) inv[t] = _mm256_load_ps(inverse + 8 * t);
    for (int j = 0; j < h->Lp; j += 2) {  /* keys j and j+1 interleaved per channel */
        if (j < h->n) round32(v + j * stride, inv, row); else memset(row, 0, sizeof row);
        if (j + 1 < h->n) round32(v + (j + 1) * stride, inv, row2); else memset(row2, 0, sizeof row2);
        for (int half = 0; half < 2; half++) {
            __m256i a = _mm256_load_si256((const __m256i *)(row + 16 * half));
            __m256i b = _mm256_load_si256((const __m256i *)(row2 + 16 * half));
            __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
            int16_t *dst = h->v + ((j >> 1) * D + 16 * half) * 2;
            _mm256_storeu_si256((__m256i *)dst, _mm256_permute2x128_si256(lo, hi, 0x20));
            _mm256_storeu_si256((__m256i *)(dst + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
        }
    }
}

/* Integer scores of query rows i0..i0+RB-1 (rows past L repeat row i0) against all keys, times the key scales */
static void scores(Head *h, int i0) {
    const int32_t *qp[RB];
    for (int r = 0; r < RB; r++) qp[r] = (const int32_t *)(h->q + (i0 + r < h->L ? i0 + r : i0) * D);
    for (int jb = 0; jb < h->Lp; jb += 8) {
        __m256i acc[RB];
        for (int r = 0; r < RB; r++) acc[r] = _mm256_setzero_si256();
        for (int pair = 0; pair < D / 2; pair++) {
            __m256i keys = _mm256_loadu_si256((const __m256i *)(h->k + 2 * (pair * h->Lp + jb)));
            for (int r = 0; r < RB; r++)
                acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(keys, _mm256_set1_epi32(qp[r][pair])));
        }
        __m256 key_scale = _mm256_loadu_ps(h->k_scale + jb);
        for (int r = 0; r < RB; r++)
            _mm256_storeu_ps(h->scores + r * h->Lp + jb, _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r]), key_scale));
    }
}

/* Row r of the block: scores -> softmax numerators in 0..255; returns 1 / their sum */
static float softmax_row(Head *h, int r, float query_scale) {
    float *s = h->scores + r * h->Lp;
    __m256 scale = _mm256_set1_ps(query_scale), vmax = _mm256_set1_ps(-INFINITY);
    for (int j = h->n; j < h->Lp; j++) s[j] = -INFINITY;  /* masked keys */
    for (int jb = 0; jb < h->Lp; jb += 8) {
        __m256 sv = _mm256_mul_ps(_mm256_loadu_ps(s + jb), scale);
        _mm256_storeu_ps(s + jb, sv);
        vmax = _mm256_max_ps(vmax, sv);
    }
    __m256 top = _mm256_set1_ps(hmax(vmax));
    __m256i sum = _mm256_setzero_si256();
    int16_t *w = h->weights + r * h->Lp;
    for (int jb = 0; jb < h->Lp; jb += 8) {
        __m256 p = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + jb), top));
        __m256i pi = _mm256_cvtps_epi32(_mm256_mul_ps(p, _mm256_set1_ps(255.0f)));
        sum = _mm256_add_epi32(sum, pi);
        _mm_storeu_si128((__m128i *)(w + jb), _mm_packs_epi32(_mm256_castsi256_si128(pi), _mm256_extracti128_si256(pi, 1)));
    }
    return 1.0f / (float)hsum_i(sum);
}

/* out row = sum over keys of weight * V, for rows r and r2 of the block at once (V loaded once for both) */
static void context_rows(Head *h, int r, int r2, const float norm[RB], float *out0, float *out1) {
    const int32_t *w0 = (const int32_t *)(h->weights + r * h->Lp), *w1 = (const int32_t *)(h->weights + r2 * h->Lp);
    __m256i a[4], b[4];
    for (int t = 0; t < 4; t++) a[t] = b[t] = _mm256_setzero_si256();
    for (int jp = 0; jp < h->Lp / 2; jp++) {
        const __m256i *values = (const __m256i *)(h->v + jp * D * 2);
        __m256i pa = _mm256_set1_epi32(w0[jp]), pb = _mm256_set1_epi32(w1[jp]);
        for (int t = 0; t < 4; t++) {
            __m256i vt = _mm256_loadu_si256(values + t);
            a[t] = _mm256_add_epi32(a[t], _mm256_madd_epi16(vt, pa));
            b[t] = _mm256_add_epi32(b[t], _mm256_madd_epi16(vt, pb));
        }
    }
    __m256 n0 = _mm256_set1_ps(norm[r]), n1 = _mm256_set1_ps(norm[r2]);
    for (int t = 0; t < 4; t++) {
        __m256 vs = _mm256_loadu_ps(h->v_scale + 8 * t);
        _mm256_storeu_ps(out0 + 8 * t, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a[t]), vs), n0));
        if (out1) _mm256_storeu_ps(out1 + 8 * t, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(b[t]), vs), n1));
    }
}

/* One (batch row, head): q, k, v point at token 0 with `stride` floats per token; out has `ostride` */
static void head(Head *h, const float *q, const float *k, const float *v, long stride, float *out, long ostride) {
    quantise(h, q, k, v, stride);
    const float root = 1.0f / sqrtf((float)D);
    for (int i0 = 0; i0 < h->L; i0 += RB) {
        int rows = h->L - i0 < RB ? h->L - i0 : RB;
        float norm[RB];
        scores(h, i0);
        for (int r = 0; r < rows; r++) norm[r] = softmax_row(h, r, h->q_scale[i0 + r] * root);
        for (int r = 0; r < rows; r += 2) {
            int two = r + 1 < rows;
            context_rows(h, r, two ? r + 1 : r, norm, out + (long)(i0 + r) * ostride,
                         two ? out + (long)(i0 + r + 1) * ostride : NULL);
        }
    }
}

/* qkv: [B][L][3][H][32] float32; out: [B][L][H][32]; lengths: valid tokens per batch row (keys beyond are masked) */
static int attention(const float *qkv, float *out, const int64_t *lengths, int B, int L, int H) {
    int Lp = (L + 7) & ~7;
    Head h = {.L = L};
    h.k = malloc((size_t)Lp * D * sizeof(int16_t));
    h.v = malloc((size_t)Lp * D * sizeof(int16_t));
    h.q = malloc((size_t)L * D * sizeof(int16_t));
    h.k_scale = malloc((size_t)Lp * sizeof(float));
    h.q_scale = malloc((size_t)L * sizeof(float));
    h.scores = malloc((size_t)Lp * RB * sizeof(float));
    h.weights = malloc((size_t)Lp * RB * sizeof(int16_t));
    int ok = h.k && h.v && h.q && h.k_scale && h.q_scale && h.scores && h.weights;
    long stride = 3L * H * D;
    for (int b = 0; ok && b < B; b++) {
        h.n = lengths[b] < 1 ? 1 : lengths[b] > L ? L : (int)lengths[b];
        h.Lp = (h.n + 7) & ~7;
        for (int head_no = 0; head_no < H; head_no++) {
            const float *base = qkv + (long)b * L * stride + head_no * D;
            head(&h, base, base + H * D, base + 2 * H * D, stride, out + (long)b * L * H * D + head_no * D,
                 (long)H * D);
        }
    }
    free(h.k); free(h.v); free(h.q); free(h.k_scale); free(h.q_scale); free(h.scores); free(h.weights);
    return ok;
}

/* GELU, 0.5 x (1 + erf(x / sqrt 2)), erf after Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7) */
static inline __m256 gelu256(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)), az = _mm256_andnot_ps(sign, z);
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), az, one));
    __m256 poly = _mm256_set1_ps(1.061405429f);
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-1.453152027f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(1.421413741f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-0.284496736f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(0.254829592f));
    poly = _mm256_mul_ps(poly, t);
    __m256 erf_abs = _mm256_fnmadd_ps(poly, exp256(_mm256_mul_ps(_mm256_xor_ps(az, sign), az)), one);
    __m256 erf = _mm256_or_ps(erf_abs, _mm256_and_ps(z, sign));
    return _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.5f)), _mm256_add_ps(one, erf));
}

/* In place, row by row: x = gelu(x) / s with s = max |gelu(x)| over the row (at least 1e-6), written to scales.
   The FFN's output layer quantises its input per token; this is that input in one pass instead of five. */
static void gelu_rows(float *x, float *scales, long rows, long cols) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (long r = 0; r < rows; r++) {
        float *row = x + r * cols;
        __m256 top = _mm256_setzero_ps();
        for (long c = 0; c < cols; c += 8) {
            __m256 g = gelu256(_mm256_loadu_ps(row + c));
            _mm256_storeu_ps(row + c, g);
            top = _mm256_max_ps(top, _mm256_andnot_ps(sign, g));
        }
        float scale = fmaxf(hmax(top), 1e-6f);
        __m256 inverse = _mm256_set1_ps(1.0f / scale);
        for (long c = 0; c < cols; c += 8)
            _mm256_storeu_ps(row + c, _mm256_mul_ps(_mm256_loadu_ps(row + c), inverse));
        scales[r] = scale;
    }
}

static PyObject *run_gelu(PyObject *self, PyObject *args) {
    unsigned long long x, scales;
    long long rows, cols;
    if (!PyArg_ParseTuple(args, "KKLL", &x, &scales, &rows, &cols))
        return NULL;
    if (cols % 8) {
        PyErr_SetString(PyExc_ValueError, "gelu_rows needs a multiple of 8 columns");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    gelu_rows((float *)(uintptr_t)x, (float *)(uintptr_t)scales, (long)rows, (long)cols);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* attention(qkv address, out address, lengths address, batch, length, heads): the caller guarantees contiguous
   float32 / int64 buffers of those shapes and a CPU with AVX2 and FMA. Runs without the GIL. */
static PyObject *run(PyObject *self, PyObject *args) {
    unsigned long long qkv, out, lengths;
    int batch, length, heads;
    if (!PyArg_ParseTuple(args, "KKKiii", &qkv, &out, &lengths, &batch, &length, &heads))
        return NULL;
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = attention((const float *)(uintptr_t)qkv, (float *)(uintptr_t)out, (const int64_t *)(uintptr_t)lengths,
                   batch, length, heads);
    Py_END_ALLOW_THREADS
    if (!ok)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"attention", run, METH_VARARGS, "attention(qkv, out, lengths, batch, length, heads): addresses of buffers."},
    {"gelu_rows", run_gelu, METH_VARARGS, "gelu_rows(x, scales, rows, cols): x = gelu(x) / row scale, in place."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
