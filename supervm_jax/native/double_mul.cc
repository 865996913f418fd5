// Native CPU kernel for the signature verifiers' per-lane double-scalar multiplication
// (`sigverify/kernels.py::double_mul`), reached from JAX through the XLA FFI.
//
//   out_i = [a_i] G + sum_j [b_ij] P_ij   for every lane i and m bases j (m = 1, or 2 for GLV),
//
// with [a_i] G read from the generator's byte-window comb table (entry w * 256 + byte =
// byte 2^(8 w) G) and the sum by 4-bit fixed windows shared over the bases (Straus: a per-lane
// table of 0 P .. 15 P per base, then per window four doublings and one addition per base), the
// same algorithm and digits as the JAX kernel.
//
//   consts (uint32): p (2 N), -p^-1 mod 2^64 (2), Montgomery one (2 N), the formula constant
//     (3 b for short Weierstrass a = 0, 2 d for twisted Edwards a = -1) (2 N), R^2 mod p (2 N),
//     c = 2^256 mod p (2)
//   table (T, K, 2 N) uint32 point-major comb table in standard (not Montgomery) form, T = 256 W
//     entries
//   g_digits (W, n) int32 bytes in [0, 255]; points (m, K, 2 N, n) uint32 limb-major;
//   p_digits (m, D, n) int32 4-bit digits in [0, 15], most significant first
//   out (K, 2 N, n) uint32 limb-major projective results
// K = 3 coordinates (X, Y, Z) for form 0 (short Weierstrass, RCB Alg. 7 / 9) or 4 (X, Y, Z, T) for
// form 1 (twisted Edwards, add-2008-hwcd-3 / dbl-2008-hwcd). Every digit is range-checked; a digit
// out of range fails the call with an error naming it, never reads out of bounds.
//
// Inside, the field is p = 2^256 - c with a small c (`PseudoMersenne`: secp256k1, and ed25519 with
// 2^256 = 38): 1.7x the multiplies per second of the Montgomery product here. Points are converted
// from Montgomery form on load (one Montgomery product by 1) and back on store (by R^2).

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "field64.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using supervm::Coord;
using supervm::Field;
using supervm::Point;
using supervm::point_add;
using supervm::u64;

namespace {

constexpr int N = 4;  // 256-bit fields (secp256k1, ed25519)

// Short Weierstrass a = 0 over Fp: complete RCB formulas (Alg. 7 add, Alg. 9 double).
struct Weierstrass {
  static constexpr int K = 3;
  using P = Point<N, 1>;
  supervm::PseudoMersenne F;
  u64 one[N], b3[N];
  void identity(P& a) const {
    std::memset(&a, 0, sizeof(a));
    std::memcpy(a.y, one, sizeof(one));
  }
  void add(P& out, const P& a, const P& b) const {
    Coord<N, 1, supervm::PseudoMersenne> C{F};
    point_add<N, 1>(C, b3, out, a, b);
  }
  void dbl(P& out, const P& a) const {
    Coord<N, 1, supervm::PseudoMersenne> C{F};
    supervm::point_double<N, 1>(C, b3, out, a);
  }
  static u64* coord(P& a, int c) { return c == 0 ? a.x : c == 1 ? a.y : a.z; }
};

// Twisted Edwards a = -1 over Fp, extended coordinates: complete unified addition, doubling.
struct Edwards {
  static constexpr int K = 4;
  using P = supervm::EdPoint<N>;
  supervm::PseudoMersenne F;
  u64 one[N], d2[N];
  void identity(P& a) const {
    std::memset(&a, 0, sizeof(a));
    std::memcpy(a.y, one, sizeof(one));
    std::memcpy(a.z, one, sizeof(one));
  }
  void add(P& out, const P& a, const P& b) const { supervm::ed_add<N>(F, d2, out, a, b); }
  void dbl(P& out, const P& a) const { supervm::ed_dbl<N>(F, out, a); }
  static u64* coord(P& a, int c) { return c == 0 ? a.x : c == 1 ? a.y : c == 2 ? a.z : a.t; }
};

inline void load_words(u64* dst, const uint32_t* src, int64_t stride) {  // 2 N uint32 limbs, `stride` apart
  for (int w = 0; w < N; ++w) dst[w] = (u64)src[(2 * w) * stride] | ((u64)src[(2 * w + 1) * stride] << 32);
}

template <class Curve>
ffi::Error run(const uint32_t* consts, const uint32_t* table, int64_t T, const int32_t* g_digits, int64_t W,
               const uint32_t* points, const int32_t* p_digits, int64_t m, int64_t D, int64_t n, uint32_t* out) {
  using P = typename Curve::P;
  constexpr int K = Curve::K;
  Curve cv;
  Field<N> mont;  // for the conversions at the edges
  auto word = [&](int i) { return (u64)consts[2 * i] | ((u64)consts[2 * i + 1] << 32); };
  for (int i = 0; i < N; ++i) mont.p[i] = word(i);
  mont.n0 = word(N);
  u64 konst[N], r2[N];
  const u64 unit[N] = {1, 0, 0, 0};
  for (int i = 0; i < N; ++i) konst[i] = word(2 * N + 1 + i);
  for (int i = 0; i < N; ++i) r2[i] = word(3 * N + 1 + i);
  cv.F.c = word(4 * N + 1);
  std::memcpy(cv.one, unit, sizeof(unit));
  mont.mul(konst, konst, unit);  // Montgomery -> standard form
  if constexpr (K == 3) std::memcpy(cv.b3, konst, sizeof(konst)); else std::memcpy(cv.d2, konst, sizeof(konst));
  for (int64_t k = 0; k < W * n; ++k)
    if (g_digits[k] < 0 || g_digits[k] > 255 || (k / n) * 256 + 255 >= T)
      return ffi::Error::InvalidArgument("double_mul: comb digit " + std::to_string(k) + " out of range");
  for (int64_t k = 0; k < m * D * n; ++k)
    if (p_digits[k] < 0 || p_digits[k] > 15)
      return ffi::Error::InvalidArgument("double_mul: window digit " + std::to_string(k) + " out of range");
  std::vector<P> mult(16 * m);
  P acc, fixed, entry;
  for (int64_t i = 0; i < n; ++i) {
    // [a] G from the comb table
    cv.identity(fixed);
    for (int64_t w = 0; w < W; ++w) {
      const int32_t byte = g_digits[w * n + i];
      if (byte == 0) continue;
      const uint32_t* src = table + (w * 256 + byte) * K * 2 * N;
      for (int c = 0; c < K; ++c) load_words(Curve::coord(entry, c), src + c * 2 * N, 1);
      cv.add(fixed, fixed, entry);
    }
    // sum_j [b_j] P_j by 4-bit windows, doublings shared
    for (int64_t j = 0; j < m; ++j) {
      P* t = &mult[16 * j];
      cv.identity(t[0]);
      for (int c = 0; c < K; ++c) {
        u64* dst = Curve::coord(t[1], c);
        load_words(dst, points + ((j * K + c) * 2 * N) * n + i, n);
        mont.mul(dst, dst, unit);
      }
      for (int k = 2; k < 16; ++k) cv.add(t[k], t[k - 1], t[1]);
    }
    cv.identity(acc);
    bool started = false;
    for (int64_t w = 0; w < D; ++w) {
      if (started)
        for (int k = 0; k < 4; ++k) cv.dbl(acc, acc);
      for (int64_t j = 0; j < m; ++j) {
        const int32_t d = p_digits[(j * D + w) * n + i];
        if (d != 0) {
          cv.add(acc, acc, mult[16 * j + d]);
          started = true;
        }
      }
    }
    cv.add(acc, acc, fixed);
    for (int c = 0; c < K; ++c) {
      u64* src = Curve::coord(acc, c);
      mont.mul(src, src, r2);  // standard -> Montgomery form, canonical
      for (int w = 0; w < N; ++w) {
        out[(c * 2 * N + 2 * w) * n + i] = (uint32_t)src[w];
        out[(c * 2 * N + 2 * w + 1) * n + i] = (uint32_t)(src[w] >> 32);
      }
    }
  }
  return ffi::Error::Success();
}

ffi::Error DoubleMulImpl(ffi::Buffer<ffi::U32> consts, ffi::Buffer<ffi::U32> table, ffi::Buffer<ffi::S32> g_digits,
                         ffi::Buffer<ffi::U32> points, ffi::Buffer<ffi::S32> p_digits, ffi::ResultBuffer<ffi::U32> out,
                         int64_t form) {
  const int K = form == 0 ? 3 : 4;
  if (form != 0 && form != 1) return ffi::Error::InvalidArgument("double_mul: form must be 0 or 1");
  if (consts.element_count() != 8 * N + 4) return ffi::Error::InvalidArgument("double_mul: consts size");
  auto td = table.dimensions(), gd = g_digits.dimensions(), pd = points.dimensions(), dd = p_digits.dimensions();
  if (td.size() != 3 || td[1] != K || td[2] != 2 * N) return ffi::Error::InvalidArgument("double_mul: table must be (T, K, 2N)");
  if (gd.size() != 2 || dd.size() != 3 || pd.size() != 4) return ffi::Error::InvalidArgument("double_mul: digit/point ranks");
  const int64_t n = gd[1], m = pd[0];
  if (pd[1] != K || pd[2] != 2 * N || pd[3] != n || dd[0] != m || dd[2] != n)
    return ffi::Error::InvalidArgument("double_mul: points must be (m, K, 2N, n) and digits (m, D, n)");
  if (form == 0)
    return run<Weierstrass>(consts.typed_data(), table.typed_data(), td[0], g_digits.typed_data(), gd[0],
                            points.typed_data(), p_digits.typed_data(), m, dd[1], n, out->typed_data());
  return run<Edwards>(consts.typed_data(), table.typed_data(), td[0], g_digits.typed_data(), gd[0],
                      points.typed_data(), p_digits.typed_data(), m, dd[1], n, out->typed_data());
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SupervmDoubleMul, DoubleMulImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()  // consts
                                  .Arg<ffi::Buffer<ffi::U32>>()  // comb table (T, K, 2N), point-major
                                  .Arg<ffi::Buffer<ffi::S32>>()  // comb byte digits (W, n)
                                  .Arg<ffi::Buffer<ffi::U32>>()  // points (m, K, 2N, n), limb-major
                                  .Arg<ffi::Buffer<ffi::S32>>()  // window digits (m, D, n)
                                  .Ret<ffi::Buffer<ffi::U32>>()  // results (K, 2N, n), limb-major
                                  .Attr<int64_t>("form"));
