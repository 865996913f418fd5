// Native CPU kernels for the optimal ate pairing on BN254 and BLS12-381, reached from JAX through the
// XLA FFI. They compute exactly the values of the JAX kernels they replace on CPU (`pairing/miller.py`,
// `pairing/api.py::_fold_kernel`, `pairing/final_exp.py::run_program`), which stay the reference.
//
// Representation: the tower of `pairing/tower.py` — Fq2 = Fq[u]/(u^2 + 1), Fq6 = Fq2[v]/(v^3 - xi),
// Fq12 = Fq6[w]/(w^2 - v), xi = xi0 + u — on N 64-bit words per base-field element in Montgomery
// form with R = 2^(64 N) (field64.h's `Field<N>`, its hot paths redone on x86 carry intrinsics in
// `FastField`; the same values as the JAX kernels' 2 N uint32 limbs, pairs of limbs being the
// words). N = 4 (BN254) or 6 (BLS12-381), chosen by the limb count.
// Every array is limb-major with the lane axis last, as in the JAX kernels:
//   Fq2 (L, 2, *batch); Fq12 (L, 2, 2, 3, *batch), axis 2 = j, axis 3 = i in sum c_ji v^i w^j.
//
// Constants (all passed in, nothing curve-specific is compiled in):
//   consts (uint32, 4 N + 4): p (2 N), -p^-1 mod 2^64 (2), Montgomery 1 (2 N), xi0 (2, a small integer)
//   three_b (L, 2): 3 b' of the twist, Fq2 Montgomery limbs
//   frob_q (4, L, 2): BN254's xi^((p-1)/3), xi^((p-1)/2), xi^((p^2-1)/3), xi^((p^2-1)/2) (pi(Q), pi^2(Q))
//   frobenius (3, L, 2, 2, 3): for k = 1, 2, 3 the Fq12 constant xi^((2i+j)(p^k-1)/6) per coefficient
//
// Handlers:
//   SupervmPairingMiller(consts, three_b, frob_q, digits (D,) int32, xP, yP (L, K, G), xQ, yQ (L, 2, K, G),
//       mask (K, G) bool; attrs twist (0 = D, 1 = M), tail (1 = BN254's pi(Q), -pi^2(Q) lines))
//       -> f (L, 2, 2, 3, G): per group, prod over its unmasked pairs of the Miller function, with the
//       same projective formulas, the same line scaling and the same loop as `miller.miller_loop`
//       (lines multiplied in sparsely: the same value as the dense product).
//   SupervmPairingFold(consts, f (L, 2, 2, 3, M, P)) -> (L, 2, 2, 3, P): the product over M (1 if M = 0).
//   SupervmPairingFinal(consts, frobenius, rows (R, 4) int32, n_rows () int32, f (L, 2, 2, 3, P))
//       -> (L, 2, 2, 3, P): the register program of `final_exp.py` run on every lane. SQR uses
//       Granger-Scott cyclotomic squaring on values known to lie in the cyclotomic subgroup
//       (x != 0, x^(p^4) x = x^(p^2), tested at most once per value class; see run_final), the
//       complex squaring otherwise, so every program gives run_program's value.
// Every shape, constant header, loop digit, program row and input element (< p) is checked; a bad one
// fails the call with an error naming it and nothing out of bounds is read or written.

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "field64.h"
#include "xla/ffi/api/ffi.h"

#if defined(__x86_64__) && defined(__BMI2__)
#include <immintrin.h>
#define SUPERVM_PAIRING_X86 1
#endif

namespace ffi = xla::ffi;
using supervm::Field;
using supervm::u64;

namespace {

constexpr int NREG = 8;  // final_exp.NREG
enum Op { MUL = 0, SQR, CONJ, FROB1, FROB2, FROB3, INV, N_OPS };

template <int N>
struct E2 {
  u64 c0[N], c1[N];
};
template <int N>
struct E6 {
  E2<N> a[3];  // a0 + a1 v + a2 v^2
};
template <int N>
struct E12 {
  E6<N> c[2];  // c0 + c1 w: c[j].a[i] is the coefficient (j, i)
};

// Field<N> with the hot operations rewritten on carry intrinsics (GCC 12 keeps part of field64.h's
// unsigned __int128 carry chains in memory; with these the pairing runs about 1.2x faster here),
// plus the product by a small integer for xi = xi0 + u. Requires p < 2^(64 N - 2) (checked by
// load_tower), which also lets products take operands in [0, 2p) (the lazy sums of mul2 / sqr2):
// the CIOS accumulator stays below 3p + 1 and the result below 2p before the final subtraction.
// Without BMI2 (mulx) the Field<N> code and a double-and-add for xi0 serve (same values).
template <int N>
struct FastField : Field<N> {
#ifdef SUPERVM_PAIRING_X86
  using ull = unsigned long long;
  // r = a + b mod p for a, b < p.
  inline void add(u64* r, const u64* a, const u64* b) const {
    ull s[N], d[N];
    unsigned char c = 0, w = 0;
    for (int i = 0; i < N; ++i) c = _addcarry_u64(c, a[i], b[i], &s[i]);
    for (int i = 0; i < N; ++i) w = _subborrow_u64(w, s[i], this->p[i], &d[i]);
    const u64 keep_s = -(u64)(w & (c ^ 1));  // s < p and no carry out
    for (int i = 0; i < N; ++i) r[i] = (s[i] & keep_s) | (d[i] & ~keep_s);
  }
  // r = a - b mod p for a, b < p.
  inline void sub(u64* r, const u64* a, const u64* b) const {
    ull d[N];
    unsigned char w = 0, c = 0;
    for (int i = 0; i < N; ++i) w = _subborrow_u64(w, a[i], b[i], &d[i]);
    const u64 mask = -(u64)w;
    for (int i = 0; i < N; ++i) c = _addcarry_u64(c, d[i], this->p[i] & mask, &d[i]);
    for (int i = 0; i < N; ++i) r[i] = d[i];
  }
  // r = x mod p for x < 2^16 p (N + 1 words): the quotient estimated in floating point from the
  // top words (p's top word is >= 2^32, checked, so the estimate is off by less than 1), lowered
  // by 1 so x - q p lies in [0, 3p), then at most two subtractions of p.
  inline void reduce_small(u64* r, const ull* x) const {
    const double xd = (double)x[N] * 18446744073709551616.0 + (double)x[N - 1];
    const u64 q0 = (u64)(xd * inv_top);
    const ull q = q0 ? q0 - 1 : 0;
    ull lo[N], hi[N], t[N];
    for (int j = 0; j < N; ++j) lo[j] = _mulx_u64(this->p[j], q, &hi[j]);
    unsigned char w = _subborrow_u64(0, x[0], lo[0], &t[0]);
    for (int j = 1; j < N; ++j) {
      unsigned char c = _addcarry_u64(0, lo[j], hi[j - 1], &lo[j]);  // q p word j (its carry goes to hi[j])
      hi[j] += c;
      w = _subborrow_u64(w, x[j], lo[j], &t[j]);
    }
    for (int k = 0; k < 2; ++k) cond_sub_p(t);
    for (int j = 0; j < N; ++j) r[j] = t[j];
  }
  // t -= p if t >= p (t < 2^(64 N)).
  inline void cond_sub_p(ull* t) const {
    ull d[N];
    unsigned char w = 0;
    for (int i = 0; i < N; ++i) w = _subborrow_u64(w, t[i], this->p[i], &d[i]);
    const u64 keep_t = -(u64)w;
    for (int i = 0; i < N; ++i) t[i] = (t[i] & keep_t) | (d[i] & ~keep_t);
  }
  // k a + b mod p for a, b <= p and 1 <= k < 2^16.
  inline void mul_small_add(u64* r, const u64* a, u64 k, const u64* b) const {
    ull x[N + 1], lo[N], hi[N];
    for (int j = 0; j < N; ++j) lo[j] = _mulx_u64(a[j], k, &hi[j]);
    unsigned char c = 0;
    x[0] = lo[0];
    for (int j = 1; j < N; ++j) c = _addcarry_u64(c, lo[j], hi[j - 1], &x[j]);
    x[N] = hi[N - 1] + c;
    c = 0;
    for (int j = 0; j < N; ++j) c = _addcarry_u64(c, x[j], b[j], &x[j]);
    x[N] += c;
    reduce_small(r, x);
  }
  // r = (k a0 - a1, k a1 + a0) mod p: the Fq2 product by xi = k + u.
  inline void mul_xi(u64* r0, u64* r1, const u64* a0, const u64* a1, u64 k) const {
    ull neg1[N];
    unsigned char w = 0;
    for (int i = 0; i < N; ++i) w = _subborrow_u64(w, this->p[i], a1[i], &neg1[i]);  // p - a1 in (0, p]
    u64 n1[N], t0[N];
    for (int i = 0; i < N; ++i) n1[i] = neg1[i];
    mul_small_add(t0, a0, k, n1);
    mul_small_add(r1, a1, k, a0);
    std::memcpy(r0, t0, sizeof(t0));
  }
  double inv_top = 0;  // 2^(64 (N - 1)) / p, set by load_tower
  // Montgomery product a b 2^(-64 N) mod p for a, b < 2p; canonical result.
  __attribute__((noinline)) void mul(u64* r, const u64* a, const u64* b) const {
    ull t[N + 1] = {0};
#pragma GCC unroll 8
    for (int i = 0; i < N; ++i) {
      ull lo[N], hi[N];
      const ull bi = b[i];
#pragma GCC unroll 8
      for (int j = 0; j < N; ++j) lo[j] = _mulx_u64(a[j], bi, &hi[j]);
      unsigned char c = 0;
#pragma GCC unroll 8
      for (int j = 0; j < N; ++j) c = _addcarry_u64(c, t[j], lo[j], &t[j]);
      _addcarry_u64(c, t[N], 0, &t[N]);
      c = 0;
#pragma GCC unroll 8
      for (int j = 1; j < N; ++j) c = _addcarry_u64(c, t[j], hi[j - 1], &t[j]);
      _addcarry_u64(c, t[N], hi[N - 1], &t[N]);  // t + a b_i < 2^(64 (N + 1))
      const ull m = t[0] * this->n0;
#pragma GCC unroll 8
      for (int j = 0; j < N; ++j) lo[j] = _mulx_u64(this->p[j], m, &hi[j]);
      ull low_word;  // (t + m p) mod 2^64 = 0
      c = _addcarry_u64(0, t[0], lo[0], &low_word);
#pragma GCC unroll 8
      for (int j = 1; j < N; ++j) c = _addcarry_u64(c, t[j], lo[j], &t[j - 1]);
      _addcarry_u64(c, t[N], 0, &t[N - 1]);
      c = 0;
#pragma GCC unroll 8
      for (int j = 0; j < N - 1; ++j) c = _addcarry_u64(c, t[j], hi[j], &t[j]);
      _addcarry_u64(c, t[N - 1], hi[N - 1], &t[N - 1]);  // (t + m p) / 2^64 < 3p + 1
      t[N] = 0;
    }
    cond_sub_p(t);  // < 2p -> [0, p)
    for (int j = 0; j < N; ++j) r[j] = t[j];
  }
#endif
};

// 2 N uint32 limbs `stride` apart <-> N words.
template <int N>
inline void load(u64* dst, const uint32_t* src, int64_t stride) {
  for (int w = 0; w < N; ++w) dst[w] = (u64)src[(2 * w) * stride] | ((u64)src[(2 * w + 1) * stride] << 32);
}
template <int N>
inline void store(uint32_t* dst, const u64* src, int64_t stride) {
  for (int w = 0; w < N; ++w) {
    dst[(2 * w) * stride] = (uint32_t)src[w];
    dst[(2 * w + 1) * stride] = (uint32_t)(src[w] >> 32);
  }
}

// The tower over Field<N>; every operation is exact (canonical in, canonical out), so any two
// formulas for the same value give the same words.
template <int N>
struct Tower {
  using Fq2 = E2<N>;
  using Fq6 = E6<N>;
  using Fq12 = E12<N>;
  FastField<N> F;
  u64 one[N];
  u64 xi0;
  Fq12 frob[3];  // frob[k - 1]: the constants of the p^k Frobenius map

  // -- Fq -----------------------------------------------------------------------------------------
  bool canonical(const u64* a) const {
    u64 d[N];
    return Field<N>::sub_words(d, a, F.p) == 1;  // a < p
  }
  static bool is_zero(const u64* a) {
    u64 acc = 0;
    for (int i = 0; i < N; ++i) acc |= a[i];
    return acc == 0;
  }
  void neg(u64* r, const u64* a) const {
    const u64 zero[N] = {0};
    F.sub(r, zero, a);
  }
  void mul_xi0(u64* r, const u64* a) const {  // xi0 a by double-and-add (xi0 >= 1, checked)
    u64 acc[N];
    std::memcpy(acc, a, sizeof(acc));
    for (int b = 62 - __builtin_clzll(xi0); b >= 0; --b) {
      F.add(acc, acc, acc);
      if ((xi0 >> b) & 1) F.add(acc, acc, a);
    }
    std::memcpy(r, acc, sizeof(acc));
  }
  void inv(u64* r, const u64* a) const {  // a^(p-2): the inverse, and 0 -> 0
    u64 e[N], two[N] = {2}, acc[N];
    Field<N>::sub_words(e, F.p, two);
    std::memcpy(acc, one, sizeof(acc));
    for (int bit = 64 * N - 1; bit >= 0; --bit) {
      F.mul(acc, acc, acc);
      if ((e[bit / 64] >> (bit % 64)) & 1) F.mul(acc, acc, a);
    }
    std::memcpy(r, acc, sizeof(acc));
  }

  // -- Fq2 ----------------------------------------------------------------------------------------
  void add2(Fq2& r, const Fq2& a, const Fq2& b) const { F.add(r.c0, a.c0, b.c0); F.add(r.c1, a.c1, b.c1); }
  void sub2(Fq2& r, const Fq2& a, const Fq2& b) const { F.sub(r.c0, a.c0, b.c0); F.sub(r.c1, a.c1, b.c1); }
  void neg2(Fq2& r, const Fq2& a) const { neg(r.c0, a.c0); neg(r.c1, a.c1); }
  void conj2(Fq2& r, const Fq2& a) const {
    std::memcpy(r.c0, a.c0, sizeof(r.c0));
    neg(r.c1, a.c1);
  }
  // Karatsuba, u^2 = -1. The sums a0 + a1, b0 + b1 stay unreduced (< 2p): with p < R / 4
  // (checked) the Montgomery product of operands < 2p is < 2p before its final subtraction, so
  // canonical after it.
  __attribute__((noinline)) void mul2(Fq2& r, const Fq2& a, const Fq2& b) const {
    u64 t0[N], t1[N], sa[N], sb[N], t2[N];
    F.mul(t0, a.c0, b.c0);
    F.mul(t1, a.c1, b.c1);
    Field<N>::add_words(sa, a.c0, a.c1);
    Field<N>::add_words(sb, b.c0, b.c1);
    F.mul(t2, sa, sb);
    F.sub(r.c0, t0, t1);
    F.sub(t2, t2, t0);
    F.sub(r.c1, t2, t1);
  }
  // (a0 + a1)(a0 - a1) + 2 a0 a1 u, the factors unreduced in [0, 2p) as in mul2.
  __attribute__((noinline)) void sqr2(Fq2& r, const Fq2& a) const {
    u64 s[N], d[N], m[N];
    Field<N>::add_words(s, a.c0, a.c1);
    Field<N>::add_words(d, a.c0, F.p);
    Field<N>::sub_words(d, d, a.c1);
    F.mul(m, a.c0, a.c1);
    F.mul(r.c0, s, d);
    F.add(r.c1, m, m);
  }
  void mul2_base(Fq2& r, const Fq2& a, const u64* k) const { F.mul(r.c0, a.c0, k); F.mul(r.c1, a.c1, k); }
  void mul_xi(Fq2& r, const Fq2& a) const {  // (xi0 a0 - a1) + (a0 + xi0 a1) u
#ifdef SUPERVM_PAIRING_X86
    if (xi0 != 1) {
      F.mul_xi(r.c0, r.c1, a.c0, a.c1, xi0);
      return;
    }
#endif
    u64 s0[N], s1[N];
    mul_xi0(s0, a.c0);
    mul_xi0(s1, a.c1);
    F.add(s1, s1, a.c0);
    F.sub(r.c0, s0, a.c1);
    std::memcpy(r.c1, s1, sizeof(s1));
  }
  void inv2(Fq2& r, const Fq2& a) const {  // conj(a) / (a0^2 + a1^2)
    u64 t0[N], t1[N];
    F.mul(t0, a.c0, a.c0);
    F.mul(t1, a.c1, a.c1);
    F.add(t0, t0, t1);
    inv(t0, t0);
    F.mul(r.c0, a.c0, t0);
    F.mul(t1, a.c1, t0);
    neg(r.c1, t1);
  }

  // -- Fq6 ----------------------------------------------------------------------------------------
  void add6(Fq6& r, const Fq6& a, const Fq6& b) const { for (int i = 0; i < 3; ++i) add2(r.a[i], a.a[i], b.a[i]); }
  void sub6(Fq6& r, const Fq6& a, const Fq6& b) const { for (int i = 0; i < 3; ++i) sub2(r.a[i], a.a[i], b.a[i]); }
  void mul_v(Fq6& r, const Fq6& a) const {  // v a = (xi a2, a0, a1)
    Fq2 t;
    mul_xi(t, a.a[2]);
    r.a[2] = a.a[1];
    r.a[1] = a.a[0];
    r.a[0] = t;
  }
  __attribute__((noinline)) void mul6(Fq6& r, const Fq6& a, const Fq6& b) const {  // Karatsuba: 6 Fq2 products
    Fq2 v0, v1, v2, s, t, u, c0, c1, c2;
    mul2(v0, a.a[0], b.a[0]);
    mul2(v1, a.a[1], b.a[1]);
    mul2(v2, a.a[2], b.a[2]);
    add2(t, a.a[1], a.a[2]); add2(u, b.a[1], b.a[2]); mul2(s, t, u);
    sub2(s, s, v1); sub2(s, s, v2); mul_xi(s, s); add2(c0, v0, s);          // v0 + xi (a1 b2 + a2 b1)
    add2(t, a.a[0], a.a[1]); add2(u, b.a[0], b.a[1]); mul2(s, t, u);
    sub2(s, s, v0); sub2(s, s, v1); mul_xi(t, v2); add2(c1, s, t);          // a0 b1 + a1 b0 + xi a2 b2
    add2(t, a.a[0], a.a[2]); add2(u, b.a[0], b.a[2]); mul2(s, t, u);
    sub2(s, s, v0); sub2(s, s, v2); add2(c2, s, v1);                        // a0 b2 + a2 b0 + a1 b1
    r.a[0] = c0; r.a[1] = c1; r.a[2] = c2;
  }
  void mul6_by_0(Fq6& r, const Fq6& a, const Fq2& b0) const {  // a b0
    for (int i = 0; i < 3; ++i) mul2(r.a[i], a.a[i], b0);
  }
  void mul6_by_1(Fq6& r, const Fq6& a, const Fq2& b1) const {  // a (b1 v) = (xi a2 b1, a0 b1, a1 b1)
    Fq2 t0, t1, t2;
    mul2(t2, a.a[2], b1);
    mul2(t0, a.a[0], b1);
    mul2(t1, a.a[1], b1);
    mul_xi(r.a[0], t2);
    r.a[1] = t0;
    r.a[2] = t1;
  }
  __attribute__((noinline)) void mul6_by_01(Fq6& r, const Fq6& a, const Fq2& b0, const Fq2& b1) const {  // 5 products
    Fq2 t0, t1, s, t, u, c0, c1, c2;
    mul2(t0, a.a[0], b0);
    mul2(t1, a.a[1], b1);
    add2(t, a.a[1], a.a[2]); mul2(s, t, b1); sub2(s, s, t1); mul_xi(s, s); add2(c0, s, t0);  // a0 b0 + xi a2 b1
    add2(t, a.a[0], a.a[1]); add2(u, b0, b1); mul2(s, t, u); sub2(s, s, t0); sub2(c1, s, t1);  // a0 b1 + a1 b0
    add2(t, a.a[0], a.a[2]); mul2(s, t, b0); sub2(s, s, t0); add2(c2, s, t1);                // a2 b0 + a1 b1
    r.a[0] = c0; r.a[1] = c1; r.a[2] = c2;
  }
  void inv6(Fq6& r, const Fq6& a) const {  // adj(a) / N(a); 0 -> 0
    Fq2 c0, c1, c2, t, s;
    sqr2(c0, a.a[0]); mul2(t, a.a[1], a.a[2]); mul_xi(t, t); sub2(c0, c0, t);   // a0^2 - xi a1 a2
    sqr2(c1, a.a[2]); mul_xi(c1, c1); mul2(t, a.a[0], a.a[1]); sub2(c1, c1, t); // xi a2^2 - a0 a1
    sqr2(c2, a.a[1]); mul2(t, a.a[0], a.a[2]); sub2(c2, c2, t);                 // a1^2 - a0 a2
    mul2(t, a.a[2], c1); mul2(s, a.a[1], c2); add2(t, t, s); mul_xi(t, t);
    mul2(s, a.a[0], c0); add2(t, t, s);                                         // a0 c0 + xi (a2 c1 + a1 c2)
    inv2(t, t);
    mul2(r.a[0], c0, t); mul2(r.a[1], c1, t); mul2(r.a[2], c2, t);
  }

  // -- Fq12 ---------------------------------------------------------------------------------------
  void set_one(Fq12& r) const {
    std::memset(&r, 0, sizeof(r));
    std::memcpy(r.c[0].a[0].c0, one, sizeof(one));
  }
  bool eq12(const Fq12& a, const Fq12& b) const { return std::memcmp(&a, &b, sizeof(a)) == 0; }
  bool is_zero12(const Fq12& a) const {
    const u64* w = &a.c[0].a[0].c0[0];
    u64 acc = 0;
    for (int k = 0; k < 12 * N; ++k) acc |= w[k];
    return acc == 0;
  }
  __attribute__((noinline)) void mul12(Fq12& r, const Fq12& a, const Fq12& b) const {  // 18 Fq2 products
    Fq6 v0, v1, sa, sb, t;
    mul6(v0, a.c[0], b.c[0]);
    mul6(v1, a.c[1], b.c[1]);
    add6(sa, a.c[0], a.c[1]);
    add6(sb, b.c[0], b.c[1]);
    mul6(t, sa, sb);
    sub6(t, t, v0);
    sub6(r.c[1], t, v1);
    mul_v(v1, v1);
    add6(r.c[0], v0, v1);
  }
  __attribute__((noinline)) void sqr12(Fq12& r, const Fq12& a) const {  // complex squaring: 2 Fq6 products
    Fq6 s, t, m, pr;
    mul_v(t, a.c[1]);
    add6(s, a.c[0], a.c[1]);
    add6(t, a.c[0], t);
    mul6(m, s, t);                   // (a0 + a1)(a0 + v a1)
    mul6(pr, a.c[0], a.c[1]);        // a0 a1
    sub6(m, m, pr);
    mul_v(t, pr);
    sub6(r.c[0], m, t);              // a0^2 + v a1^2
    add6(r.c[1], pr, pr);            // 2 a0 a1
  }
  // Granger-Scott squaring, valid in the cyclotomic subgroup (x^(p^4 - p^2 + 1) = 1) only: 9 Fq2 squares.
  __attribute__((noinline)) void cyclotomic_sqr12(Fq12& r, const Fq12& x) const {
    const Fq2 &a00 = x.c[0].a[0], &a01 = x.c[0].a[1], &a02 = x.c[0].a[2];
    const Fq2 &a10 = x.c[1].a[0], &a11 = x.c[1].a[1], &a12 = x.c[1].a[2];
    Fq2 t[9], s;
    Fq12 z;
    sqr2(t[0], a11);
    sqr2(t[1], a00);
    add2(s, a11, a00); sqr2(t[6], s); sub2(t[6], t[6], t[0]); sub2(t[6], t[6], t[1]);  // 2 a11 a00
    sqr2(t[2], a02);
    sqr2(t[3], a10);
    add2(s, a02, a10); sqr2(t[7], s); sub2(t[7], t[7], t[2]); sub2(t[7], t[7], t[3]);  // 2 a02 a10
    sqr2(t[4], a12);
    sqr2(t[5], a01);
    add2(s, a12, a01); sqr2(t[8], s); sub2(t[8], t[8], t[4]); sub2(t[8], t[8], t[5]);
    mul_xi(t[8], t[8]);                                                               // 2 xi a12 a01
    mul_xi(t[0], t[0]); add2(t[0], t[0], t[1]);  // xi a11^2 + a00^2
    mul_xi(t[2], t[2]); add2(t[2], t[2], t[3]);  // xi a02^2 + a10^2
    mul_xi(t[4], t[4]); add2(t[4], t[4], t[5]);  // xi a12^2 + a01^2
    auto three_minus_two = [&](Fq2& out, const Fq2& tt, const Fq2& a) {  // 3 tt - 2 a
      sub2(s, tt, a); add2(s, s, s); add2(out, s, tt);
    };
    auto three_plus_two = [&](Fq2& out, const Fq2& tt, const Fq2& a) {  // 3 tt + 2 a
      add2(s, tt, a); add2(s, s, s); add2(out, s, tt);
    };
    three_minus_two(z.c[0].a[0], t[0], a00);
    three_minus_two(z.c[0].a[1], t[2], a01);
    three_minus_two(z.c[0].a[2], t[4], a02);
    three_plus_two(z.c[1].a[0], t[8], a10);
    three_plus_two(z.c[1].a[1], t[6], a11);
    three_plus_two(z.c[1].a[2], t[7], a12);
    r = z;
  }
  void conj12(Fq12& r, const Fq12& a) const {
    r.c[0] = a.c[0];
    for (int i = 0; i < 3; ++i) neg2(r.c[1].a[i], a.c[1].a[i]);
  }
  void frob12(Fq12& r, const Fq12& a, int k) const {  // a^(p^k), k in 1..3
    for (int j = 0; j < 2; ++j)
      for (int i = 0; i < 3; ++i) {
        Fq2 t;
        if (k % 2) conj2(t, a.c[j].a[i]); else t = a.c[j].a[i];
        mul2(r.c[j].a[i], t, frob[k - 1].c[j].a[i]);
      }
  }
  void inv12(Fq12& r, const Fq12& a) const {  // conj(a) / (a0^2 - v a1^2); 0 -> 0
    Fq6 t0, t1;
    mul6(t0, a.c[0], a.c[0]);
    mul6(t1, a.c[1], a.c[1]);
    mul_v(t1, t1);
    sub6(t0, t0, t1);
    inv6(t0, t0);
    mul6(r.c[0], a.c[0], t0);
    mul6(t1, a.c[1], t0);
    for (int i = 0; i < 3; ++i) neg2(r.c[1].a[i], t1.a[i]);
  }
  bool in_cyclotomic_subgroup(const Fq12& x) const {  // x != 0 and x^(p^4) x = x^(p^2)
    if (is_zero12(x)) return false;
    Fq12 f2, f4;
    frob12(f2, x, 2);
    frob12(f4, f2, 2);
    mul12(f4, f4, x);
    return eq12(f4, f2);
  }

  // f times a line with coefficients cy (at yP), cx (at xP), c0 placed as in miller._line:
  // D-type: cy at 1, cx at w, c0 at v w; M-type: c0 at 1, cx at v, cy at v w. 13 Fq2 products.
  template <bool M_TWIST>
  __attribute__((noinline)) void mul_line(Fq12& f, const Fq2& cy, const Fq2& cx, const Fq2& c0) const {
    Fq6 v0, v1, s, t;
    Fq2 u;
    add6(s, f.c[0], f.c[1]);
    if constexpr (!M_TWIST) {  // l0 = cy, l1 = cx + c0 v
      mul6_by_0(v0, f.c[0], cy);
      mul6_by_01(v1, f.c[1], cx, c0);
      add2(u, cy, cx);
      mul6_by_01(t, s, u, c0);
    } else {  // l0 = c0 + cx v, l1 = cy v
      mul6_by_01(v0, f.c[0], c0, cx);
      mul6_by_1(v1, f.c[1], cy);
      add2(u, cx, cy);
      mul6_by_01(t, s, c0, u);
    }
    sub6(t, t, v0);
    sub6(f.c[1], t, v1);
    mul_v(v1, v1);
    add6(f.c[0], v0, v1);
  }
};

// The constant header shared by the three handlers; an error string if it is malformed.
template <int N>
std::string load_tower(Tower<N>& tw, const uint32_t* c) {
  for (int i = 0; i < N; ++i) tw.F.p[i] = (u64)c[2 * i] | ((u64)c[2 * i + 1] << 32);
  tw.F.n0 = (u64)c[2 * N] | ((u64)c[2 * N + 1] << 32);
  load<N>(tw.one, c + 2 * N + 2, 1);
  tw.xi0 = (u64)c[4 * N + 2] | ((u64)c[4 * N + 3] << 32);
  if ((tw.F.p[0] & 1) == 0 || tw.F.p[N - 1] == 0 || (tw.F.p[N - 1] >> 62) != 0 || (u64)(tw.F.n0 * tw.F.p[0]) != ~(u64)0)
    return "consts: p must be odd, in [2^(64 N - 64), 2^(64 N - 2)), with n0 = -p^-1 mod 2^64";
  if (!tw.canonical(tw.one)) return "consts: Montgomery one must be < p";
  if (tw.xi0 == 0 || tw.xi0 >= (1u << 16)) return "consts: xi0 must be in [1, 2^16)";
  if (tw.F.p[N - 1] < ((u64)1 << 32)) return "consts: p's top word must be >= 2^32";
#ifdef SUPERVM_PAIRING_X86
  tw.F.inv_top = 1.0 / ((double)tw.F.p[N - 1] + (double)tw.F.p[N - 2] / 18446744073709551616.0);
#endif
  return "";
}

// (L, 2, 2, 3, ...) Fq12 element at lane offset `lane`, limb stride `stride`.
template <int N>
bool load12(const Tower<N>& tw, E12<N>& r, const uint32_t* src, int64_t stride, int64_t lane) {
  bool ok = true;
  for (int c = 0; c < 2; ++c)
    for (int j = 0; j < 2; ++j)
      for (int i = 0; i < 3; ++i) {
        u64* dst = c == 0 ? r.c[j].a[i].c0 : r.c[j].a[i].c1;
        load<N>(dst, src + ((c * 2 + j) * 3 + i) * stride + lane, 12 * stride);
        ok &= tw.canonical(dst);
      }
  return ok;
}
template <int N>
void store12(uint32_t* dst, const E12<N>& a, int64_t stride, int64_t lane) {
  for (int c = 0; c < 2; ++c)
    for (int j = 0; j < 2; ++j)
      for (int i = 0; i < 3; ++i)
        store<N>(dst + ((c * 2 + j) * 3 + i) * stride + lane, c == 0 ? a.c[j].a[i].c0 : a.c[j].a[i].c1, 12 * stride);
}
// Fq2 at element offset `at` of an (L, 2, n) array with n = stride (coefficient stride = stride).
template <int N>
bool load2(const Tower<N>& tw, E2<N>& r, const uint32_t* src, int64_t stride, int64_t at) {
  load<N>(r.c0, src + at, 2 * stride);
  load<N>(r.c1, src + stride + at, 2 * stride);
  return tw.canonical(r.c0) && tw.canonical(r.c1);
}

ffi::Error bad(const std::string& what) { return ffi::Error::InvalidArgument("pairing native: " + what); }

std::string dims_str(ffi::Span<const int64_t> d) {
  std::string s = "(";
  for (size_t k = 0; k < d.size(); ++k) s += (k ? ", " : "") + std::to_string(d[k]);
  return s + (d.size() == 1 ? ",)" : ")");
}

bool dims_are(ffi::Span<const int64_t> d, std::initializer_list<int64_t> want) {
  if (d.size() != want.size()) return false;
  size_t k = 0;
  for (int64_t w : want)
    if (d[k++] != w) return false;
  return true;
}

// -- Miller loop ------------------------------------------------------------------------------------

template <int N>
struct PairState {
  E2<N> X, Y, Z, xQ, yQ, yQ_neg;
  u64 y_neg[N], x3[N], y[N], x_neg[N];  // -yP, 3 xP, yP, -xP
};

template <int N>
struct Line {
  E2<N> cy, cx, c0;
};

// T <- 2T and the tangent line, as miller.double_step.
template <int N>
void double_step(const Tower<N>& tw, const E2<N>& three_b, PairState<N>& s, Line<N>& l) {
  E2<N> bZ, B, E, XX, XY, YZ, H, Fv, bm, bp, t, X3, Y3, Z3, e2;
  tw.mul2(bZ, s.Z, three_b);
  tw.sqr2(B, s.Y);
  tw.mul2(E, bZ, s.Z);  // 3b' Z^2
  tw.sqr2(XX, s.X);
  tw.mul2(XY, s.X, s.Y);
  tw.mul2(YZ, s.Y, s.Z);
  tw.add2(H, YZ, YZ);
  tw.add2(t, E, E);
  tw.add2(Fv, t, E);
  tw.sub2(bm, B, Fv);
  tw.add2(bp, B, Fv);
  tw.mul2_base(l.cy, H, s.y_neg);  // -H yP
  tw.mul2_base(l.cx, XX, s.x3);    // 3 X^2 xP
  tw.sub2(l.c0, E, B);
  tw.mul2(X3, XY, bm);
  tw.add2(X3, X3, X3);             // 2 XY (B - F)
  tw.sqr2(Y3, bp);
  tw.sqr2(e2, E);
  tw.add2(e2, e2, e2);
  tw.add2(e2, e2, e2);             // 4 E^2
  tw.add2(t, e2, e2);
  tw.add2(t, t, e2);               // 12 E^2
  tw.sub2(s.Y, Y3, t);             // (B + F)^2 - 12 E^2
  tw.mul2(Z3, B, H);
  tw.add2(Z3, Z3, Z3);
  tw.add2(s.Z, Z3, Z3);            // 4 B H
  s.X = X3;
}

// T <- T + (xq, yq) and the chord line, as miller.add_step.
template <int N>
void add_step(const Tower<N>& tw, PairState<N>& s, const E2<N>& xq, const E2<N>& yq, Line<N>& l) {
  E2<N> th, la, C, D, thx, lay, E, Fv, G, H, t, X3, Y3;
  tw.mul2(t, yq, s.Z);
  tw.sub2(th, s.Y, t);             // theta = Y - yQ Z
  tw.mul2(t, xq, s.Z);
  tw.sub2(la, s.X, t);             // lambda = X - xQ Z
  tw.sqr2(C, th);
  tw.sqr2(D, la);
  tw.mul2(thx, th, xq);
  tw.mul2(lay, la, yq);
  tw.mul2_base(l.cy, la, s.y);     // lambda yP
  tw.mul2_base(l.cx, th, s.x_neg); // -theta xP
  tw.sub2(l.c0, thx, lay);         // theta xQ - lambda yQ
  tw.mul2(E, la, D);
  tw.mul2(Fv, s.Z, C);
  tw.mul2(G, s.X, D);
  tw.add2(H, E, Fv);
  tw.add2(t, G, G);
  tw.sub2(H, H, t);                // E + F - 2G
  tw.mul2(X3, la, H);
  tw.sub2(t, G, H);
  tw.mul2(Y3, th, t);
  tw.mul2(t, s.Y, E);
  tw.sub2(s.Y, Y3, t);             // theta (G - H) - Y E
  tw.mul2(s.Z, s.Z, E);            // Z E
  s.X = X3;
}

template <int N, bool M_TWIST>
ffi::Error run_miller(const uint32_t* consts, const uint32_t* three_b_limbs, const uint32_t* frob_q_limbs,
                      const int32_t* digits, int64_t D, const uint32_t* xP, const uint32_t* yP, const uint32_t* xQ,
                      const uint32_t* yQ, const bool* mask, int64_t K, int64_t G, bool tail, uint32_t* out) {
  Tower<N> tw;
  const std::string err = load_tower<N>(tw, consts);
  if (!err.empty()) return bad("miller: " + err);
  E2<N> three_b, fq[4];
  if (!load2<N>(tw, three_b, three_b_limbs, 1, 0)) return bad("miller: three_b must be < p");
  for (int e = 0; e < 4; ++e)
    if (!load2<N>(tw, fq[e], frob_q_limbs + e * 4 * N, 1, 0)) return bad("miller: frob_q must be < p");
  for (int64_t k = 0; k < D; ++k)
    if (digits[k] < -1 || digits[k] > 1) return bad("miller: loop digit " + std::to_string(k) + " not in {-1, 0, 1}");
  const int64_t KG = K * G;
  std::vector<PairState<N>> pairs(K);
  E12<N> f;
  Line<N> line;
  for (int64_t g = 0; g < G; ++g) {
    int64_t n = 0;
    for (int64_t k = 0; k < K; ++k) {
      if (!mask[k * G + g]) continue;  // contributes 1
      PairState<N>& s = pairs[n++];
      const int64_t at = k * G + g;
      u64 xp[N];
      load<N>(xp, xP + at, KG);
      load<N>(s.y, yP + at, KG);
      if (!tw.canonical(xp) || !tw.canonical(s.y) || !load2<N>(tw, s.xQ, xQ, KG, at) || !load2<N>(tw, s.yQ, yQ, KG, at))
        return bad("miller: pair (" + std::to_string(k) + ", " + std::to_string(g) + ") has a coordinate >= p");
      tw.neg(s.y_neg, s.y);
      tw.neg(s.x_neg, xp);
      tw.F.add(s.x3, xp, xp);
      tw.F.add(s.x3, s.x3, xp);
      tw.neg2(s.yQ_neg, s.yQ);
      s.X = s.xQ;
      s.Y = s.yQ;
      std::memset(&s.Z, 0, sizeof(s.Z));
      std::memcpy(s.Z.c0, tw.one, sizeof(tw.one));
    }
    tw.set_one(f);
    for (int64_t d = 0; d < D; ++d) {
      tw.sqr12(f, f);
      for (int64_t k = 0; k < n; ++k) {
        PairState<N>& s = pairs[k];
        double_step<N>(tw, three_b, s, line);
        tw.template mul_line<M_TWIST>(f, line.cy, line.cx, line.c0);
        if (digits[d] != 0) {
          add_step<N>(tw, s, s.xQ, digits[d] > 0 ? s.yQ : s.yQ_neg, line);
          tw.template mul_line<M_TWIST>(f, line.cy, line.cx, line.c0);
        }
      }
    }
    if (tail) {  // BN254: the lines through pi(Q) and -pi^2(Q)
      for (int64_t k = 0; k < n; ++k) {
        PairState<N>& s = pairs[k];
        E2<N> x1, y1, x2, y2;
        tw.conj2(x1, s.xQ); tw.mul2(x1, x1, fq[0]);
        tw.conj2(y1, s.yQ); tw.mul2(y1, y1, fq[1]);
        tw.mul2(x2, s.xQ, fq[2]);
        tw.mul2(y2, s.yQ, fq[3]);
        tw.neg2(y2, y2);
        add_step<N>(tw, s, x1, y1, line);
        tw.template mul_line<M_TWIST>(f, line.cy, line.cx, line.c0);
        add_step<N>(tw, s, x2, y2, line);
        tw.template mul_line<M_TWIST>(f, line.cy, line.cx, line.c0);
      }
    }
    store12<N>(out, f, G, g);
  }
  return ffi::Error::Success();
}

ffi::Error MillerImpl(ffi::Buffer<ffi::U32> consts, ffi::Buffer<ffi::U32> three_b, ffi::Buffer<ffi::U32> frob_q,
                      ffi::Buffer<ffi::S32> digits, ffi::Buffer<ffi::U32> xP, ffi::Buffer<ffi::U32> yP,
                      ffi::Buffer<ffi::U32> xQ, ffi::Buffer<ffi::U32> yQ, ffi::Buffer<ffi::PRED> mask,
                      ffi::ResultBuffer<ffi::U32> out, int64_t twist, int64_t tail) {
  auto pd = xP.dimensions();
  if (pd.size() != 3 || (pd[0] != 8 && pd[0] != 12)) return bad("miller: xP must be (L, K, G) with L = 8 or 12, got " + dims_str(pd));
  const int64_t L = pd[0], K = pd[1], G = pd[2];
  if (!dims_are(yP.dimensions(), {L, K, G})) return bad("miller: yP must be " + dims_str(pd) + " like xP, got " + dims_str(yP.dimensions()));
  if (!dims_are(xQ.dimensions(), {L, 2, K, G})) return bad("miller: xQ must be (L, 2, K, G), got " + dims_str(xQ.dimensions()));
  if (!dims_are(yQ.dimensions(), {L, 2, K, G})) return bad("miller: yQ must be (L, 2, K, G), got " + dims_str(yQ.dimensions()));
  if (!dims_are(mask.dimensions(), {K, G})) return bad("miller: mask must be (K, G), got " + dims_str(mask.dimensions()));
  if (!dims_are(out->dimensions(), {L, 2, 2, 3, G})) return bad("miller: output must be (L, 2, 2, 3, G), got " + dims_str(out->dimensions()));
  if (!dims_are(consts.dimensions(), {2 * L + 4})) return bad("miller: consts must be (2 L + 4,), got " + dims_str(consts.dimensions()));
  if (!dims_are(three_b.dimensions(), {L, 2})) return bad("miller: three_b must be (L, 2), got " + dims_str(three_b.dimensions()));
  if (!dims_are(frob_q.dimensions(), {4, L, 2})) return bad("miller: frob_q must be (4, L, 2), got " + dims_str(frob_q.dimensions()));
  if (digits.dimensions().size() != 1) return bad("miller: digits must be one-dimensional");
  if (twist != 0 && twist != 1) return bad("miller: twist must be 0 (D) or 1 (M)");
  if (tail != 0 && tail != 1) return bad("miller: tail must be 0 or 1");
  const int64_t D = digits.dimensions()[0];
#define SUPERVM_MILLER(NW, MT)                                                                                    \
  run_miller<NW, MT>(consts.typed_data(), three_b.typed_data(), frob_q.typed_data(), digits.typed_data(), D,      \
                     xP.typed_data(), yP.typed_data(), xQ.typed_data(), yQ.typed_data(), mask.typed_data(), K, G, \
                     tail == 1, out->typed_data())
  if (L == 8) return twist ? SUPERVM_MILLER(4, true) : SUPERVM_MILLER(4, false);
  return twist ? SUPERVM_MILLER(6, true) : SUPERVM_MILLER(6, false);
#undef SUPERVM_MILLER
}

// -- fold -------------------------------------------------------------------------------------------

template <int N>
ffi::Error run_fold(const uint32_t* consts, const uint32_t* f, int64_t M, int64_t P, uint32_t* out) {
  Tower<N> tw;
  const std::string err = load_tower<N>(tw, consts);
  if (!err.empty()) return bad("fold: " + err);
  E12<N> acc, x;
  for (int64_t q = 0; q < P; ++q) {
    tw.set_one(acc);
    for (int64_t m = 0; m < M; ++m) {
      if (!load12<N>(tw, x, f, M * P, m * P + q))
        return bad("fold: element (" + std::to_string(m) + ", " + std::to_string(q) + ") has a coefficient >= p");
      if (m == 0) acc = x; else tw.mul12(acc, acc, x);
    }
    store12<N>(out, acc, P, q);
  }
  return ffi::Error::Success();
}

ffi::Error FoldImpl(ffi::Buffer<ffi::U32> consts, ffi::Buffer<ffi::U32> f, ffi::ResultBuffer<ffi::U32> out) {
  auto fd = f.dimensions();
  if (fd.size() != 6 || (fd[0] != 8 && fd[0] != 12) || fd[1] != 2 || fd[2] != 2 || fd[3] != 3)
    return bad("fold: f must be (L, 2, 2, 3, M, P) with L = 8 or 12, got " + dims_str(fd));
  const int64_t L = fd[0], M = fd[4], P = fd[5];
  if (!dims_are(out->dimensions(), {L, 2, 2, 3, P})) return bad("fold: output must be (L, 2, 2, 3, P), got " + dims_str(out->dimensions()));
  if (!dims_are(consts.dimensions(), {2 * L + 4})) return bad("fold: consts must be (2 L + 4,), got " + dims_str(consts.dimensions()));
  if (L == 8) return run_fold<4>(consts.typed_data(), f.typed_data(), M, P, out->typed_data());
  return run_fold<6>(consts.typed_data(), f.typed_data(), M, P, out->typed_data());
}

// -- final exponentiation ---------------------------------------------------------------------------

template <int N>
ffi::Error run_final(const uint32_t* consts, const uint32_t* frobenius, const int32_t* rows, int64_t n_rows,
                     const uint32_t* f, int64_t P, uint32_t* out) {
  Tower<N> tw;
  const std::string err = load_tower<N>(tw, consts);
  if (!err.empty()) return bad("final_exp: " + err);
  for (int k = 0; k < 3; ++k)
    if (!load12<N>(tw, tw.frob[k], frobenius + k * 2 * N * 12, 1, 0)) return bad("final_exp: frobenius constants must be < p");
  // Cyclotomic-subgroup membership per value class: CONJ, FROBk and INV map the subgroup and its
  // complement onto themselves, so their result shares its input's class; MUL and SQR open a new
  // class (known members when their inputs are). A class is tested at most once, when a member is
  // squared while its membership is unknown.
  enum : int8_t { NO = 0, YES = 1, UNKNOWN = 2 };
  std::vector<int8_t> state;
  state.reserve(n_rows + 2);
  E12<N> regs[NREG], t;
  int64_t cls[NREG];
  for (int64_t q = 0; q < P; ++q) {
    if (!load12<N>(tw, regs[0], f, P, q)) return bad("final_exp: lane " + std::to_string(q) + " has a coefficient >= p");
    state.assign({UNKNOWN, YES});  // class 0: the input; class 1: the constant 1
    cls[0] = 0;
    for (int r = 1; r < NREG; ++r) {
      tw.set_one(regs[r]);
      cls[r] = 1;
    }
    for (int64_t i = 0; i < n_rows; ++i) {
      const int32_t op = rows[4 * i], dst = rows[4 * i + 1], a = rows[4 * i + 2], b = rows[4 * i + 3];
      int64_t out_cls = cls[a];
      switch (op) {
        case MUL:
          tw.mul12(t, regs[a], regs[b]);
          out_cls = (int64_t)state.size();
          state.push_back(state[cls[a]] == YES && state[cls[b]] == YES ? YES : UNKNOWN);
          break;
        case SQR: {
          int8_t& known = state[cls[a]];
          if (known == UNKNOWN) known = tw.in_cyclotomic_subgroup(regs[a]) ? YES : NO;
          if (known == YES) tw.cyclotomic_sqr12(t, regs[a]); else tw.sqr12(t, regs[a]);
          const int8_t next = known == YES ? YES : UNKNOWN;
          out_cls = (int64_t)state.size();
          state.push_back(next);
          break;
        }
        case CONJ: tw.conj12(t, regs[a]); break;
        case FROB1: tw.frob12(t, regs[a], 1); break;
        case FROB2: tw.frob12(t, regs[a], 2); break;
        case FROB3: tw.frob12(t, regs[a], 3); break;
        default: tw.inv12(t, regs[a]); break;  // INV (ops checked before)
      }
      regs[dst] = t;
      cls[dst] = out_cls;
    }
    store12<N>(out, regs[rows[4 * (n_rows - 1) + 1]], P, q);
  }
  return ffi::Error::Success();
}

ffi::Error FinalImpl(ffi::Buffer<ffi::U32> consts, ffi::Buffer<ffi::U32> frobenius, ffi::Buffer<ffi::S32> rows,
                     ffi::Buffer<ffi::S32> n_rows_buf, ffi::Buffer<ffi::U32> f, ffi::ResultBuffer<ffi::U32> out) {
  auto fd = f.dimensions();
  if (fd.size() != 5 || (fd[0] != 8 && fd[0] != 12) || fd[1] != 2 || fd[2] != 2 || fd[3] != 3)
    return bad("final_exp: f must be (L, 2, 2, 3, P) with L = 8 or 12, got " + dims_str(fd));
  const int64_t L = fd[0], P = fd[4];
  if (!dims_are(out->dimensions(), {L, 2, 2, 3, P})) return bad("final_exp: output must be (L, 2, 2, 3, P), got " + dims_str(out->dimensions()));
  if (!dims_are(consts.dimensions(), {2 * L + 4})) return bad("final_exp: consts must be (2 L + 4,), got " + dims_str(consts.dimensions()));
  if (!dims_are(frobenius.dimensions(), {3, L, 2, 2, 3}))
    return bad("final_exp: frobenius must be (3, L, 2, 2, 3), got " + dims_str(frobenius.dimensions()));
  auto rd = rows.dimensions();
  if (rd.size() != 2 || rd[1] != 4) return bad("final_exp: rows must be (R, 4), got " + dims_str(rd));
  if (n_rows_buf.element_count() != 1) return bad("final_exp: n_rows must be a scalar");
  const int64_t R = rd[0], n_rows = n_rows_buf.typed_data()[0];
  if (n_rows < 1 || n_rows > R) return bad("final_exp: n_rows = " + std::to_string(n_rows) + " not in [1, " + std::to_string(R) + "]");
  const int32_t* r = rows.typed_data();
  for (int64_t i = 0; i < n_rows; ++i) {
    if (r[4 * i] < 0 || r[4 * i] >= N_OPS) return bad("final_exp: row " + std::to_string(i) + ": op " + std::to_string(r[4 * i]) + " not in [0, 7)");
    for (int c = 1; c < 4; ++c)
      if (r[4 * i + c] < 0 || r[4 * i + c] >= NREG)
        return bad("final_exp: row " + std::to_string(i) + ": register " + std::to_string(r[4 * i + c]) + " not in [0, 8)");
  }
  if (L == 8) return run_final<4>(consts.typed_data(), frobenius.typed_data(), r, n_rows, f.typed_data(), P, out->typed_data());
  return run_final<6>(consts.typed_data(), frobenius.typed_data(), r, n_rows, f.typed_data(), P, out->typed_data());
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SupervmPairingMiller, MillerImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()   // consts (2 L + 4)
                                  .Arg<ffi::Buffer<ffi::U32>>()   // three_b (L, 2)
                                  .Arg<ffi::Buffer<ffi::U32>>()   // frob_q (4, L, 2)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // loop digits (D,)
                                  .Arg<ffi::Buffer<ffi::U32>>()   // xP (L, K, G)
                                  .Arg<ffi::Buffer<ffi::U32>>()   // yP (L, K, G)
                                  .Arg<ffi::Buffer<ffi::U32>>()   // xQ (L, 2, K, G)
                                  .Arg<ffi::Buffer<ffi::U32>>()   // yQ (L, 2, K, G)
                                  .Arg<ffi::Buffer<ffi::PRED>>()  // mask (K, G)
                                  .Ret<ffi::Buffer<ffi::U32>>()   // f (L, 2, 2, 3, G)
                                  .Attr<int64_t>("twist")
                                  .Attr<int64_t>("tail"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(SupervmPairingFold, FoldImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()   // consts (2 L + 4)
                                  .Arg<ffi::Buffer<ffi::U32>>()   // f (L, 2, 2, 3, M, P)
                                  .Ret<ffi::Buffer<ffi::U32>>());  // (L, 2, 2, 3, P)

XLA_FFI_DEFINE_HANDLER_SYMBOL(SupervmPairingFinal, FinalImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()   // consts (2 L + 4)
                                  .Arg<ffi::Buffer<ffi::U32>>()   // frobenius (3, L, 2, 2, 3)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // program rows (R, 4)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // n_rows ()
                                  .Arg<ffi::Buffer<ffi::U32>>()   // f (L, 2, 2, 3, P)
                                  .Ret<ffi::Buffer<ffi::U32>>());  // (L, 2, 2, 3, P)
