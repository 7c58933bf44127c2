// ---- Portability: one source for three compilers. ----
//
// clang -x cuda -nocudainc (no CUDA headers: the attributes and the thread
// index are spelled out here), nvcc, or, for the tests, a C++ compiler with
// nngen's emulation header included first (-include nngen_emu.h), which
// defines NNGEN_EMULATION, NN_FUNC, NN_KERNEL and NN_THREAD for the CPU.
#if defined(__CUDA__) || defined(__CUDACC__)
#if !defined(__NVCC__)
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define NN_THREAD() ((long long)__nvvm_read_ptx_sreg_ctaid_x() * __nvvm_read_ptx_sreg_ntid_x() + __nvvm_read_ptx_sreg_tid_x())
#else
#define NN_THREAD() ((long long)blockIdx.x * blockDim.x + threadIdx.x)
#endif
#define NN_FUNC static __device__ inline __attribute__((unused))
#define NN_KERNEL extern "C" __global__ void
#elif !defined(NNGEN_EMULATION)
#error "compile with clang -x cuda or nvcc, or for the CPU with -include nngen_emu.h"
#endif

// ---- Math, in float64 as nngen's Go runtime computes it. ----
//
// Neither libdevice (-nocudalib) nor a C library is linked, so exp, log,
// tanh and erf are ports of Go's math package (itself from FreeBSD's msun
// and Cephes); √ and |x| are IEEE operations every compiler provides.

NN_FUNC double nn_from_bits(unsigned long long b) {
  union { unsigned long long u; double d; } v;
  v.u = b;
  return v.d;
}

NN_FUNC unsigned long long nn_bits(double d) {
  union { unsigned long long u; double d; } v;
  v.d = d;
  return v.u;
}

#if defined(__NVCC__)
NN_FUNC double nn_sqrt(double x) { return sqrt(x); }  // CUDA's, correctly rounded
NN_FUNC double nn_fabs(double x) { return fabs(x); }
#else
NN_FUNC double nn_sqrt(double x) { return __builtin_sqrt(x); }
NN_FUNC double nn_fabs(double x) { return __builtin_fabs(x); }
#endif
NN_FUNC double nn_inf() { return nn_from_bits(0x7ff0000000000000ULL); }
NN_FUNC double nn_nan() { return nn_from_bits(0x7ff8000000000001ULL); }

// nn_frexp splits a positive normal x into f·2^e with f in [0.5, 1).
NN_FUNC double nn_frexp(double x, int* e) {
  unsigned long long b = nn_bits(x);
  *e = (int)((b >> 52) & 0x7ff) - 1022;
  return nn_from_bits((b & ~(0x7ffULL << 52)) | (1022ULL << 52));
}

// nn_ldexp is y·2^k, Go's math.Ldexp for a normal y: the exponent is
// applied in two exact steps so that only the last can round (into the
// subnormals).
NN_FUNC double nn_ldexp(double y, int k) {
  if (y == 0 || y != y || nn_fabs(y) == nn_inf()) return y;
  int e;
  double f = nn_frexp(nn_fabs(y), &e);
  if (y < 0) f = -f;
  k += e;
  if (k > 1024) return f * nn_inf();
  if (k < -1080) return f * 0;
  int k1 = k / 2, k2 = k - k / 2;
  return f * nn_from_bits((unsigned long long)(k1 + 1023) << 52) * nn_from_bits((unsigned long long)(k2 + 1023) << 52);
}

// nn_exp is Go's math.exp.
NN_FUNC double nn_exp(double x) {
  const double Ln2Hi = 6.93147180369123816490e-01, Ln2Lo = 1.90821492927058770002e-10,
               Log2e = 1.44269504088896338700e+00;
  if (x != x) return x;
  if (x > 7.09782712893383973096e+02) return nn_inf();
  if (x < -7.45133219101941108420e+02) return 0;
  if (-1.0 / (1 << 28) < x && x < 1.0 / (1 << 28)) return 1 + x;
  int k = 0;
  if (x < 0) k = (int)(Log2e * x - 0.5);
  if (x > 0) k = (int)(Log2e * x + 0.5);
  double hi = x - (double)k * Ln2Hi, lo = (double)k * Ln2Lo;
  const double P1 = 1.66666666666666657415e-01, P2 = -2.77777777770155933842e-03,
               P3 = 6.61375632143793436117e-05, P4 = -1.65339022054652515390e-06,
               P5 = 4.13813679705723846039e-08;
  double r = hi - lo, t = r * r;
  double c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  double y = 1 - ((lo - (r * c) / (2 - c)) - hi);
  return nn_ldexp(y, k);
}

// nn_log is Go's math.log.
NN_FUNC double nn_log(double x) {
  const double Ln2Hi = 6.93147180369123816490e-01, Ln2Lo = 1.90821492927058770002e-10,
               L1 = 6.666666666666735130e-01, L2 = 3.999999999940941908e-01,
               L3 = 2.857142874366239149e-01, L4 = 2.222219843214978396e-01,
               L5 = 1.818357216161805012e-01, L6 = 1.531383769920937332e-01,
               L7 = 1.479819860511658591e-01;
  if (x != x || x == nn_inf()) return x;
  if (x < 0) return nn_nan();
  if (x == 0) return -nn_inf();
  int ki;
  double f1;
  if (x < 2.2250738585072014e-308) {  // subnormal: scale into the normals first
    f1 = nn_frexp(x * 18014398509481984.0, &ki);  // 2^54
    ki -= 54;
  } else {
    f1 = nn_frexp(x, &ki);
  }
  if (f1 < 0.70710678118654752440084436210484903928483593768847 /* √2/2 */) {
    f1 *= 2;
    ki--;
  }
  double f = f1 - 1, k = (double)ki;
  double s = f / (2 + f), s2 = s * s, s4 = s2 * s2;
  double t1 = s2 * (L1 + s4 * (L3 + s4 * (L5 + s4 * L7)));
  double t2 = s4 * (L2 + s4 * (L4 + s4 * L6));
  double R = t1 + t2, hfsq = 0.5 * f * f;
  return k * Ln2Hi - ((hfsq - (s * (hfsq + R) + k * Ln2Lo)) - f);
}

// nn_log1p is log(1+x), accurate for small x: with u = 1+x rounded,
// log(u)·x/(u-1) corrects for the rounding (Goldberg's method).
NN_FUNC double nn_log1p(double x) {
  double u = 1 + x;
  if (u == 1) return x;
  if (u == nn_inf()) return u;
  return nn_log(u) * x / (u - 1);
}

// nn_tanh is Go's math.tanh.
NN_FUNC double nn_tanh(double x) {
  const double P0 = -9.64399179425052238628e-1, P1 = -9.92877231001918586564e1,
               P2 = -1.61468768441708447952e3, Q0 = 1.12811678491632931402e2,
               Q1 = 2.23548839060100448583e3, Q2 = 4.84406305325125486048e3;
  double z = nn_fabs(x);
  if (z > 0.5 * 8.8029691931113054295988e+01) return x < 0 ? -1 : 1;
  if (z >= 0.625) {
    double s = nn_exp(2 * z);
    z = 1 - 2 / (s + 1);
    return x < 0 ? -z : z;
  }
  if (x == 0) return x;
  double s = x * x;
  return x + x * s * ((P0 * s + P1) * s + P2) / (((s + Q0) * s + Q1) * s + Q2);
}

// nn_erf is Go's math.erf.
NN_FUNC double nn_erf(double x) {
  const double erx = 8.45062911510467529297e-01, efx = 1.28379167095512586316e-01,
               efx8 = 1.02703333676410069053e+00,
               pp0 = 1.28379167095512558561e-01, pp1 = -3.25042107247001499370e-01,
               pp2 = -2.84817495755985104766e-02, pp3 = -5.77027029648944159157e-03,
               pp4 = -2.37630166566501626084e-05, qq1 = 3.97917223959155352819e-01,
               qq2 = 6.50222499887672944485e-02, qq3 = 5.08130628187576562776e-03,
               qq4 = 1.32494738004321644526e-04, qq5 = -3.96022827877536812320e-06,
               pa0 = -2.36211856075265944077e-03, pa1 = 4.14856118683748331666e-01,
               pa2 = -3.72207876035701323847e-01, pa3 = 3.18346619901161753674e-01,
               pa4 = -1.10894694282396677476e-01, pa5 = 3.54783043256182359371e-02,
               pa6 = -2.16637559486879084300e-03, qa1 = 1.06420880400844228286e-01,
               qa2 = 5.40397917702171048937e-01, qa3 = 7.18286544141962662868e-02,
               qa4 = 1.26171219808761642112e-01, qa5 = 1.36370839120290507362e-02,
               qa6 = 1.19844998467991074170e-02,
               ra0 = -9.86494403484714822705e-03, ra1 = -6.93858572707181764372e-01,
               ra2 = -1.05586262253232909814e+01, ra3 = -6.23753324503260060396e+01,
               ra4 = -1.62396669462573470355e+02, ra5 = -1.84605092906711035994e+02,
               ra6 = -8.12874355063065934246e+01, ra7 = -9.81432934416914548592e+00,
               sa1 = 1.96512716674392571292e+01, sa2 = 1.37657754143519042600e+02,
               sa3 = 4.34565877475229228821e+02, sa4 = 6.45387271733267880336e+02,
               sa5 = 4.29008140027567833386e+02, sa6 = 1.08635005541779435134e+02,
               sa7 = 6.57024977031928170135e+00, sa8 = -6.04244152148580987438e-02,
               rb0 = -9.86494292470009928597e-03, rb1 = -7.99283237680523006574e-01,
               rb2 = -1.77579549177547519889e+01, rb3 = -1.60636384855821916062e+02,
               rb4 = -6.37566443368389627722e+02, rb5 = -1.02509513161107724954e+03,
               rb6 = -4.83519191608651397019e+02, sb1 = 3.03380607434824582924e+01,
               sb2 = 3.25792512996573918826e+02, sb3 = 1.53672958608443695994e+03,
               sb4 = 3.19985821950859553908e+03, sb5 = 2.55305040643316442583e+03,
               sb6 = 4.74528541206955367215e+02, sb7 = -2.24409524465858183362e+01;
  if (x != x) return x;
  bool sign = x < 0;
  if (sign) x = -x;
  if (x < 0.84375) {
    double temp;
    if (x < 1.0 / (1 << 28)) {
      temp = x < 2.848094538889218e-306 ? 0.125 * (8.0 * x + efx8 * x) : x + efx * x;
    } else {
      double z = x * x;
      double r = pp0 + z * (pp1 + z * (pp2 + z * (pp3 + z * pp4)));
      double s = 1 + z * (qq1 + z * (qq2 + z * (qq3 + z * (qq4 + z * qq5))));
      temp = x + x * (r / s);
    }
    return sign ? -temp : temp;
  }
  if (x < 1.25) {
    double s = x - 1;
    double P = pa0 + s * (pa1 + s * (pa2 + s * (pa3 + s * (pa4 + s * (pa5 + s * pa6)))));
    double Q = 1 + s * (qa1 + s * (qa2 + s * (qa3 + s * (qa4 + s * (qa5 + s * qa6)))));
    return sign ? -erx - P / Q : erx + P / Q;
  }
  if (x >= 6) return sign ? -1 : 1;
  double s = 1 / (x * x), R, S;
  if (x < 1 / 0.35) {
    R = ra0 + s * (ra1 + s * (ra2 + s * (ra3 + s * (ra4 + s * (ra5 + s * (ra6 + s * ra7))))));
    S = 1 + s * (sa1 + s * (sa2 + s * (sa3 + s * (sa4 + s * (sa5 + s * (sa6 + s * (sa7 + s * sa8)))))));
  } else {
    R = rb0 + s * (rb1 + s * (rb2 + s * (rb3 + s * (rb4 + s * (rb5 + s * rb6)))));
    S = 1 + s * (sb1 + s * (sb2 + s * (sb3 + s * (sb4 + s * (sb5 + s * (sb6 + s * sb7))))));
  }
  double z = nn_from_bits(nn_bits(x) & 0xffffffff00000000ULL);  // x to 20 bits, so z·z is exact
  double r = nn_exp(-z * z - 0.5625) * nn_exp((z - x) * (z + x) + R / S);
  return sign ? r / x - 1 : 1 - r / x;
}

// nn_pow_int is Go's math.Pow(x, n) for a step count n ≥ 1: successive
// squarings with the exponent kept apart, as Go computes it.
NN_FUNC double nn_pow_int(double x, long long n) {
  if (n == 0 || x == 1) return 1;
  if (n == 1) return x;
  if (x != x) return x;
  if (x == 0) return 0;
  double a1 = 1;
  int ae = 0, xe = 0;
  double x1 = x;
  bool negative = x1 < 0;
  if (negative) x1 = -x1;
  x1 = nn_frexp(x1, &xe);
  if (negative) x1 = -x1;
  for (long long i = n; i != 0; i >>= 1) {
    if (xe < -(1 << 12) || (1 << 12) < xe) {
      ae += xe;
      break;
    }
    if (i & 1) {
      a1 *= x1;
      ae += xe;
    }
    x1 *= x1;
    xe <<= 1;
    if (x1 < .5) {
      x1 += x1;
      xe--;
    }
  }
  return nn_ldexp(a1, ae);
}

// ---- nngen's runtime (runtime/math.go), one formula each. ----

// nn_max is Go's max: NaN if either is.
NN_FUNC real nn_max(real a, real b) { return a != a ? a : b != b ? b : a > b ? a : b; }

NN_FUNC real nn_sigmoid(real x) {
  if (x >= 0) return (real)(1 / (1 + nn_exp(-(double)x)));
  double e = nn_exp((double)x);
  return (real)(e / (1 + e));
}
NN_FUNC real nn_sigmoid_grad(real dy, real y) { return dy * y * (1 - y); }

NN_FUNC real nn_relu(real x) { return x > 0 || x != x ? x : 0; }
NN_FUNC real nn_relu_grad(real dy, real y) { return y > 0 ? dy : 0; }

NN_FUNC real nn_tanh_act(real x) { return (real)nn_tanh((double)x); }
NN_FUNC real nn_tanh_grad(real dy, real y) { return dy * (1 - y * y); }

NN_FUNC real nn_leaky_relu(real x, real alpha) { return x > 0 ? x : alpha * x; }
NN_FUNC real nn_leaky_relu_grad(real dy, real y, real alpha) { return y > 0 ? dy : alpha * dy; }

// x·Φ(x) = x/2·(1 + erf(x/√2)) and its derivative Φ(x) + x·φ(x).
NN_FUNC real nn_gelu(real x) {
  double v = x;
  return (real)(0.5 * v * (1 + nn_erf(v / 1.4142135623730951)));
}
NN_FUNC real nn_gelu_grad(real dy, real x) {
  double v = x;
  double cdf = 0.5 * (1 + nn_erf(v / 1.4142135623730951));
  double pdf = nn_exp(-0.5 * v * v) / 2.5066282746310002;  // √(2π)
  return (real)((double)dy * (cdf + v * pdf));
}

// The tanh approximation: x/2·(1 + tanh(√(2/π)(x + 0.044715x³))).
NN_FUNC real nn_gelu_tanh(real x) {
  double v = x;
  return (real)(0.5 * v * (1 + nn_tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
}
NN_FUNC real nn_gelu_tanh_grad(real dy, real x) {
  double v = x;
  double t = nn_tanh(0.7978845608028654 * (v + 0.044715 * v * v * v));
  double d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * 0.7978845608028654 * (1 + 0.134145 * v * v);
  return (real)((double)dy * d);
}

// nn_softmax sets out = e^in / Σ e^in over one row of n, shifted by the
// row's maximum; out may be in.
NN_FUNC void nn_softmax(real* out, const real* in, long long n) {
  real top = in[0];
  for (long long i = 1; i < n; i++) top = nn_max(top, in[i]);
  double sum = 0;
  for (long long i = 0; i < n; i++) {
    double e = nn_exp((double)(in[i] - top));
    out[i] = (real)e;
    sum += e;
  }
  for (long long i = 0; i < n; i++) out[i] = (real)((double)out[i] / sum);
}

// nn_softmax_grad sets dx = y·(dy - Σ dy·y) over one row of n.
NN_FUNC void nn_softmax_grad(real* dx, const real* dy, const real* y, long long n) {
  real dot = 0;
  for (long long i = 0; i < n; i++) dot += dy[i] * y[i];
  for (long long i = 0; i < n; i++) dx[i] = y[i] * (dy[i] - dot);
}

NN_FUNC real nn_log_sum_exp(const real* row, long long n) {
  real top = row[0];
  for (long long i = 1; i < n; i++) top = nn_max(top, row[i]);
  double sum = 0;
  for (long long i = 0; i < n; i++) sum += nn_exp((double)(row[i] - top));
  return top + (real)nn_log(sum);
}

// max(z,0) - z·t + log(1 + e^-|z|), stable for large |z|.
NN_FUNC real nn_bce_with_logits(real z, real t) {
  double v = z;
  double m = v != v || v > 0 ? v : 0;  // Go's max(v, 0)
  return (real)(m - v * (double)t + nn_log1p(nn_exp(-nn_fabs(v))));
}

NN_FUNC real nn_sign(real x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }
NN_FUNC real nn_abs(real x) { return (real)nn_fabs((double)x); }

// The terms of smooth_l1 and huber and their derivatives in d = y - t, as
// nngen's runtime (nnrt.SmoothL1, nnrt.Huber) and aten's CPU kernels.
NN_FUNC real nn_smooth_l1(real d, real beta) {
  real a = nn_abs(d);
  return a < beta ? (real)0.5 * a * a / beta : a - (real)0.5 * beta;
}
NN_FUNC real nn_smooth_l1_grad(real d, real beta) { return d <= -beta ? -1 : d >= beta ? 1 : d / beta; }
NN_FUNC real nn_huber(real d, real delta) {
  real a = nn_abs(d);
  return a < delta ? (real)0.5 * a * a : delta * (a - (real)0.5 * delta);
}
NN_FUNC real nn_huber_grad(real d, real delta) { return d <= -delta ? -delta : d >= delta ? delta : d; }
NN_FUNC real nn_sqrt_real(real x) { return (real)nn_sqrt((double)x); }

// ---- nngen's runtime (runtime/unary.go): the unary operations. ----
//
// As there, after PyTorch 1.13's kernels: transcendental functions in
// float64, rounded once to real; the arithmetic-only ones in real, in
// PyTorch's order of operations. expm1 and pow are ports of Go's math
// package, like the functions above.

// nn_expm1 is Go's math.expm1 (from FreeBSD's msun): e^x - 1, accurate
// near 0.
NN_FUNC double nn_expm1(double x) {
  const double Othreshold = 7.09782712893383973096e+02, Ln2X56 = 3.88162421113569373274e+01,
               Ln2HalfX3 = 1.03972077083991796413e+00, Ln2Half = 3.46573590279972654709e-01,
               Ln2Hi = 6.93147180369123816490e-01, Ln2Lo = 1.90821492927058770002e-10,
               InvLn2 = 1.44269504088896338700e+00, Tiny = 1.0 / (1LL << 54),
               Q1 = -3.33333333333331316428e-02, Q2 = 1.58730158725481460165e-03,
               Q3 = -7.93650757867487942473e-05, Q4 = 4.00821782732936239552e-06,
               Q5 = -2.01099218183624371326e-07;
  if (x != x || x == nn_inf()) return x;
  if (x == -nn_inf()) return -1;
  bool sign = x < 0;
  double absx = sign ? -x : x;
  if (absx >= Ln2X56) {  // |x| ≥ 56·ln 2
    if (sign) return -1;
    if (absx >= Othreshold) return nn_inf();
  }
  double c = 0;
  int k = 0;
  if (absx > Ln2Half) {  // argument reduction
    double hi, lo;
    if (absx < Ln2HalfX3) {
      if (!sign) {
        hi = x - Ln2Hi;
        lo = Ln2Lo;
        k = 1;
      } else {
        hi = x + Ln2Hi;
        lo = -Ln2Lo;
        k = -1;
      }
    } else {
      k = sign ? (int)(InvLn2 * x - 0.5) : (int)(InvLn2 * x + 0.5);
      double t = (double)k;
      hi = x - t * Ln2Hi;  // exact
      lo = t * Ln2Lo;
    }
    x = hi - lo;
    c = (hi - x) - lo;
  } else if (absx < Tiny) {
    return x;
  }
  double hfx = 0.5 * x, hxs = x * hfx;
  double r1 = 1 + hxs * (Q1 + hxs * (Q2 + hxs * (Q3 + hxs * (Q4 + hxs * Q5))));
  double t = 3 - r1 * hfx;
  double e = hxs * ((r1 - t) / (6.0 - x * t));
  if (k == 0) return x - (x * e - hxs);
  e = (x * (e - c) - c);
  e -= hxs;
  if (k == -1) return 0.5 * (x - e) - 0.5;
  if (k == 1) {
    if (x < -0.25) return -2 * (e - (x + 0.5));
    return 1 + 2 * (x - e);
  }
  unsigned long long shift = (unsigned long long)k << 52;  // adds k to an exponent, modulo 2^64 as Go's
  if (k <= -2 || k > 56) {
    double y = 1 - (e - x);
    return nn_from_bits(nn_bits(y) + shift) - 1;
  }
  if (k < 20) {
    double u = nn_from_bits(0x3ff0000000000000ULL - (0x20000000000000ULL >> k));  // 1 - 2^-k
    return nn_from_bits(nn_bits(u - (e - x)) + shift);
  }
  double y = x - (e + nn_from_bits((unsigned long long)(0x3ff - k) << 52));  // 2^-k
  y += 1;
  return nn_from_bits(nn_bits(y) + shift);
}

// nn_trunc is Go's math.trunc: x rounded toward 0.
NN_FUNC double nn_trunc(double x) {
  unsigned long long b = nn_bits(x);
  if (nn_fabs(x) < 1) return nn_from_bits(b & 0x8000000000000000ULL);  // ±0
  unsigned long long e = ((b >> 52) & 0x7ff) - 1023;
  if (e < 52) b &= ~((1ULL << (52 - e)) - 1);  // keep the integer part's bits
  return nn_from_bits(b);
}

// nn_is_odd_int is Go's math.isOddInt.
NN_FUNC bool nn_is_odd_int(double x) {
  if (nn_fabs(x) >= 9007199254740992.0) return false;  // 2^53: every float64 there is even
  double xi = nn_trunc(x);
  return x - xi == 0 && ((long long)xi & 1) == 1;
}

// nn_pow_zero is Go's math.Pow(x, y) for x = ±0 and y ≠ 0, not NaN.
NN_FUNC double nn_pow_zero(double x, double y) {
  bool odd = (nn_bits(x) >> 63) != 0 && nn_is_odd_int(y);
  if (y < 0) return odd ? -nn_inf() : nn_inf();
  return odd ? x : 0;
}

// nn_pow is Go's math.Pow: the fraction of y through exp and log, the
// integer part by successive squarings with the exponent kept apart.
NN_FUNC double nn_pow(double x, double y) {
  if (y == 0 || x == 1) return 1;
  if (y == 1) return x;
  if (x != x || y != y) return nn_nan();
  if (x == 0) return nn_pow_zero(x, y);
  if (nn_fabs(y) == nn_inf()) {
    if (x == -1) return 1;
    if ((nn_fabs(x) < 1) == (y > 0)) return 0;
    return nn_inf();
  }
  if (nn_fabs(x) == nn_inf()) {
    if (x < 0) return nn_pow_zero(1 / x, -y);  // Go's Pow(1/x, -y), 1/x = -0
    return y < 0 ? 0 : nn_inf();
  }
  if (y == 0.5) return nn_sqrt(x);
  if (y == -0.5) return 1 / nn_sqrt(x);
  double yi = nn_trunc(nn_fabs(y)), yf = nn_fabs(y) - yi;
  if (yf != 0 && x < 0) return nn_nan();
  if (yi >= 9223372036854775808.0) {  // 2^63: a huge even integer
    if (x == -1) return 1;
    if ((nn_fabs(x) < 1) == (y > 0)) return 0;
    return nn_inf();
  }
  double a1 = 1;  // the answer is a1·2^ae
  long long ae = 0;
  if (yf != 0) {
    if (yf > 0.5) {
      yf--;
      yi++;
    }
    a1 = nn_exp(yf * nn_log(x));
  }
  int scale = 0, xe0;  // Go's Frexp, subnormals and negatives included
  if (nn_fabs(x) < 2.2250738585072014e-308) {
    x *= 4503599627370496.0;  // 2^52
    scale = -52;
  }
  double x1 = nn_frexp(x, &xe0);
  long long xe = xe0 + scale;
  for (long long i = (long long)yi; i != 0; i >>= 1) {
    if (xe < -(1 << 12) || (1 << 12) < xe) {  // under- or overflows: nn_ldexp says which
      ae += xe;
      break;
    }
    if (i & 1) {
      a1 *= x1;
      ae += xe;
    }
    x1 *= x1;
    xe <<= 1;
    if (x1 < .5) {
      x1 += x1;
      xe--;
    }
  }
  if (y < 0) {
    a1 = 1 / a1;
    ae = -ae;
  }
  if (ae > 1 << 20) ae = 1 << 20;  // as far out as nn_ldexp's int needs
  if (ae < -(1 << 20)) ae = -(1 << 20);
  return nn_ldexp(a1, (int)ae);
}

// x/(1+e^-x) and dy·s·(1 + x·(1-s)), s = σ(x): PyTorch's silu.
NN_FUNC real nn_silu(real x) {
  double v = x;
  return (real)(v / (1 + nn_exp(-v)));
}
NN_FUNC real nn_silu_grad(real dy, real x) {
  double v = x;
  double s = 1 / (1 + nn_exp(-v));
  return (real)((double)dy * s * (1 + v * (1 - s)));
}

// x > 0 ? x : alpha·(e^x - 1), and its gradient from x.
NN_FUNC real nn_elu(real x, real alpha) {
  return x > 0 ? x : (real)((double)alpha * nn_expm1((double)x));
}
NN_FUNC real nn_elu_grad(real dy, real x, real alpha) {
  return x > 0 ? dy : (real)((double)dy * (double)alpha * nn_exp((double)x));
}

// log(1 + e^x), x above PyTorch's threshold 20; gradient dy·z/(z+1), z = e^x.
NN_FUNC real nn_softplus(real x) { return x > 20 ? x : (real)nn_log1p(nn_exp((double)x)); }
NN_FUNC real nn_softplus_grad(real dy, real x) {
  if (x > 20) return dy;
  double z = nn_exp((double)x);
  return (real)((double)dy * z / (z + 1));
}

// x·tanh(log(1 + e^x)) and dy·(t + x·σ(x)·(1 - t²)), t = tanh(log(1 + e^x)).
NN_FUNC real nn_mish(real x) {
  double v = x;
  return (real)(v * nn_tanh(nn_log1p(nn_exp(v))));
}
NN_FUNC real nn_mish_grad(real dy, real x) {
  double v = x;
  double s = 1 / (1 + nn_exp(-v));
  double t = nn_tanh(nn_log1p(nn_exp(v)));
  return (real)((double)dy * (t + v * s * (1 - t * t)));
}

// x ≤ -3 ? 0 : x ≥ 3 ? x : x·(x+3)/6, and hardswish_backward's branches.
NN_FUNC real nn_hardswish(real x) { return x <= -3 ? 0 : x >= 3 ? x : x * (x + 3) / 6; }
NN_FUNC real nn_hardswish_grad(real dy, real x) {
  return x < -3 ? 0 : x <= 3 ? dy * (x / 3 + (real)0.5) : dy;
}

// x ≤ -3 ? 0 : x ≥ 3 ? 1 : (x+3)/6; the gradient multiplies by PyTorch's
// one_sixth, 1.0f/6.0f whatever real is.
NN_FUNC real nn_hardsigmoid(real x) { return x <= -3 ? 0 : x >= 3 ? 1 : (x + 3) / 6; }
NN_FUNC real nn_hardsigmoid_grad(real dy, real x) {
  return x > -3 && x < 3 ? dy * (real)(1.0f / 6.0f) : 0;
}

// x/(1+|x|) and dy/(1+|x|)².
NN_FUNC real nn_softsign(real x) { return x / (nn_abs(x) + 1); }
NN_FUNC real nn_softsign_grad(real dy, real x) {
  real d = nn_abs(x) + 1;
  return dy / d / d;
}

// e^x (nn_exp is the float64 function) and dy·y from y = e^x.
NN_FUNC real nn_exp_op(real x) { return (real)nn_exp((double)x); }
NN_FUNC real nn_exp_op_grad(real dy, real y) { return dy * y; }

// ln x and dy/x.
NN_FUNC real nn_log_op(real x) { return (real)nn_log((double)x); }
NN_FUNC real nn_log_op_grad(real dy, real x) { return dy / x; }

// √x and dy/(2y) from y = √x.
NN_FUNC real nn_sqrt_op(real x) { return (real)nn_sqrt((double)x); }
NN_FUNC real nn_sqrt_grad(real dy, real y) { return dy / (2 * y); }

// -x and -dy (the input is unused).
NN_FUNC real nn_neg(real x) { return -x; }
NN_FUNC real nn_neg_grad(real dy, real) { return -dy; }

// |x| and dy·sign(x), 0 at 0.
NN_FUNC real nn_abs_op(real x) { return nn_abs(x); }
NN_FUNC real nn_abs_grad(real dy, real x) { return dy * nn_sign(x); }

// 1/x and -dy·y² from y = 1/x.
NN_FUNC real nn_reciprocal(real x) { return 1 / x; }
NN_FUNC real nn_reciprocal_grad(real dy, real y) { return -dy * (y * y); }

// x^p as torch.pow(x, p) computes it for a float64 exponent p: the
// special cases in real, else pow in float64.
NN_FUNC real nn_pow_const_f64(real x, double p) {
  if (p == 0) return 1;
  if (p == 1) return x;
  if (p == 0.5) return nn_sqrt_op(x);
  if (p == -0.5) return 1 / nn_sqrt_op(x);
  if (p == -1) return 1 / x;
  if (p == 2) return x * x;
  if (p == 3) return x * x * x;
  if (p == -2) return 1 / (x * x);
  return (real)nn_pow((double)x, p);
}
NN_FUNC real nn_pow_const(real x, real p) { return nn_pow_const_f64(x, (double)p); }
// dy·(p·x^(p-1)), 0 for p = 0: PyTorch's pow_backward.
NN_FUNC real nn_pow_const_grad(real dy, real x, real p) {
  return p == 0 ? 0 : dy * (p * nn_pow_const_f64(x, (double)p - 1));
}

// min(max(x, lo), hi) as std::min(std::max(x, lo), hi): NaN stays NaN;
// the gradient passes where lo ≤ x ≤ hi.
NN_FUNC real nn_clamp(real x, real lo, real hi) {
  if (x < lo) x = lo;
  if (hi < x) x = hi;
  return x;
}
NN_FUNC real nn_clamp_grad(real dy, real x, real lo, real hi) { return x >= lo && x <= hi ? dy : 0; }

// ---- Convolutions and poolings (runtime/kernels/conv.go). ----
//
// Along one spatial axis, output o's window starts at input o·stride - pad
// and its taps, dilation apart, reach reach = dilation·(taps-1) further.

// nn_first_window and nn_last_window are the first and the last of the
// outputs (of outputs) whose windows span input i: o·stride - pad ≤ i ≤
// o·stride - pad + reach. The range is empty (first > last) if none does.
NN_FUNC long long nn_first_window(long long i, long long reach, long long stride, long long pad) {
  const long long lo = i + pad - reach;  // o·stride ≥ lo
  return lo <= 0 ? 0 : (lo + stride - 1) / stride;
}
NN_FUNC long long nn_last_window(long long i, long long stride, long long pad, long long outputs) {
  const long long o = (i + pad) / stride;
  return o < outputs - 1 ? o : outputs - 1;
}

// nn_max_tap is the index into plane (height×width, row-major) of the
// first largest input, in row-major order, of the window of taps_h×taps_w
// taps whose tap (r, s) reads row h0 + r·dil_h, column w0 + s·dil_w where
// inside the plane; a NaN counts as largest; -1 for a window wholly in the
// padding. As the runtime's maxTap and PyTorch's max_pool indices.
NN_FUNC long long nn_max_tap(const real* plane, long long height, long long width, long long h0, long long w0,
                             long long taps_h, long long taps_w, long long dil_h, long long dil_w) {
  long long arg = -1;
  real best = 0;
  for (long long r = 0; r < taps_h; r++) {
    const long long h = h0 + r * dil_h;
    if (h < 0 || h >= height) continue;
    for (long long s = 0; s < taps_w; s++) {
      const long long w = w0 + s * dil_w;
      if (w < 0 || w >= width) continue;
      const real v = plane[h * width + w];
      if (v != v) return h * width + w;
      if (arg < 0 || v > best) {
        arg = h * width + w;
        best = v;
      }
    }
  }
  return arg;
}
