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
NN_FUNC real nn_sqrt_real(real x) { return (real)nn_sqrt((double)x); }
