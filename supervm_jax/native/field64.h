// Shared 64-bit-limb field and curve arithmetic for the native CPU kernels (`msm_buckets.cc`,
// `double_mul.cc`, `curve_ops.cc`). Field elements are N little-endian 64-bit words in Montgomery form (radix
// 2^(64 N), the same values as the library's uint32 limbs); products use unsigned __int128.
// Every function reduces fully, so results are canonical like the JAX kernels'.

#pragma once

#include <cstdint>
#include <cstring>

namespace supervm {

using u64 = uint64_t;
using u128 = unsigned __int128;

template <int N>
struct Field {
  u64 p[N];
  u64 n0;  // -p^-1 mod 2^64

  // r = a + b over N words; returns the carry out.
  static inline u64 add_words(u64* r, const u64* a, const u64* b) {
    u64 carry = 0;
#pragma GCC unroll 8
    for (int i = 0; i < N; ++i) {
      u128 s = (u128)a[i] + b[i] + carry;
      r[i] = (u64)s;
      carry = (u64)(s >> 64);
    }
    return carry;
  }
  // r = a - b over N words; returns the borrow out.
  static inline u64 sub_words(u64* r, const u64* a, const u64* b) {
    u64 borrow = 0;
#pragma GCC unroll 8
    for (int i = 0; i < N; ++i) {
      u128 d = (u128)a[i] - b[i] - borrow;
      r[i] = (u64)d;
      borrow = (u64)(d >> 64) & 1;
    }
    return borrow;
  }
  // a + top 2^(64 N) (< 2p) reduced to [0, p), branch-free.
  inline void reduce_once(u64* a, u64 top) const {
    u64 d[N];
    const u64 borrow = sub_words(d, a, p);
    const u64 keep_d = -(u64)((top | (borrow ^ 1)) & 1);  // a >= p
#pragma GCC unroll 8
    for (int i = 0; i < N; ++i) a[i] = (d[i] & keep_d) | (a[i] & ~keep_d);
  }
  inline void add(u64* r, const u64* a, const u64* b) const { reduce_once(r, add_words(r, a, b)); }
  inline void sub(u64* r, const u64* a, const u64* b) const {
    const u64 mask = -sub_words(r, a, b);  // add p back where the subtraction wrapped
    u64 p_masked[N];
#pragma GCC unroll 8
    for (int i = 0; i < N; ++i) p_masked[i] = p[i] & mask;
    add_words(r, r, p_masked);
  }
  // CIOS Montgomery product a b 2^(-64 N) mod p, fully reduced. Not inlined: one copy of the
  // unrolled product keeps the point addition in the instruction cache (inlined 14 times, the
  // addition's code outgrew L1i and ran 2.1x slower).
  __attribute__((noinline)) void mul(u64* r, const u64* a, const u64* b) const {
    u64 t[N + 2] = {0};
#pragma GCC unroll 8
    for (int i = 0; i < N; ++i) {
      u64 c = 0;
#pragma GCC unroll 8
      for (int j = 0; j < N; ++j) {
        u128 s = (u128)a[j] * b[i] + t[j] + c;
        t[j] = (u64)s;
        c = (u64)(s >> 64);
      }
      u128 s = (u128)t[N] + c;
      t[N] = (u64)s;
      t[N + 1] = (u64)(s >> 64);
      u64 m = t[0] * n0;
      s = (u128)m * p[0] + t[0];
      c = (u64)(s >> 64);
#pragma GCC unroll 8
      for (int j = 1; j < N; ++j) {
        s = (u128)m * p[j] + t[j] + c;
        t[j - 1] = (u64)s;
        c = (u64)(s >> 64);
      }
      s = (u128)t[N] + c;
      t[N - 1] = (u64)s;
      t[N] = t[N + 1] + (u64)(s >> 64);
    }
    reduce_once(t, t[N]);
    std::memcpy(r, t, sizeof(u64) * N);
  }
  // a^(p - 2) = a^-1 (0 for a = 0) by square-and-multiply over the bits of p - 2; one: Montgomery 1.
  // Variable time in the (public) exponent only; callers invert public data (point coordinates).
  void inv(u64* r, const u64* a, const u64* one) const {
    u64 e[N], two[N] = {2}, acc[N];
    sub_words(e, p, two);
    std::memcpy(acc, one, sizeof(acc));
    for (int i = 64 * N - 1; i >= 0; --i) {
      mul(acc, acc, acc);
      if ((e[i / 64] >> (i % 64)) & 1) mul(acc, acc, a);
    }
    std::memcpy(r, acc, sizeof(acc));
  }
};

// Arithmetic modulo p = 2^256 - c for a small c (< 2^34): secp256k1 (c = 2^32 + 977) and, with
// 2^256 = 38 (mod 2^255 - 19), ed25519. Values are kept in [0, 2^256), not necessarily < p; the
// product folds the high half with one multiplication by c per word instead of a Montgomery
// reduction (about twice as fast here). Callers convert from and to Montgomery form at the edges
// (`MontField::mul` by 1 and by R^2 mod p), which also makes the outputs canonical.
struct PseudoMersenne {
  u64 c;  // 2^256 mod p

  static inline u64 add_small(u64* r, u64 x) {  // r += x, returns the carry out
    u128 s = (u128)r[0] + x;
    r[0] = (u64)s;
    u64 carry = (u64)(s >> 64);
    for (int i = 1; i < 4; ++i) {
      s = (u128)r[i] + carry;
      r[i] = (u64)s;
      carry = (u64)(s >> 64);
    }
    return carry;
  }
  static inline u64 sub_small(u64* r, u64 x) {  // r -= x, returns the borrow out
    u128 d = (u128)r[0] - x;
    r[0] = (u64)d;
    u64 borrow = (u64)(d >> 64) & 1;
    for (int i = 1; i < 4; ++i) {
      d = (u128)r[i] - borrow;
      r[i] = (u64)d;
      borrow = (u64)(d >> 64) & 1;
    }
    return borrow;
  }
  inline void add(u64* r, const u64* a, const u64* b) const {
    u64 carry = Field<4>::add_words(r, a, b);
    carry = add_small(r, carry * c);  // 2^256 = c
    add_small(r, carry * c);
  }
  inline void sub(u64* r, const u64* a, const u64* b) const {
    u64 borrow = Field<4>::sub_words(r, a, b);
    borrow = sub_small(r, borrow * c);  // -2^256 = -c
    sub_small(r, borrow * c);
  }
  __attribute__((noinline)) void mul(u64* r, const u64* a, const u64* b) const {
    u64 t[8] = {0};
    for (int i = 0; i < 4; ++i) {
      u64 carry = 0;
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        u128 s = (u128)a[i] * b[j] + t[i + j] + carry;
        t[i + j] = (u64)s;
        carry = (u64)(s >> 64);
      }
      t[i + 4] = carry;
    }
    u64 out[4];
    u64 carry = 0;
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {  // t_lo + t_hi c
      u128 s = (u128)t[4 + j] * c + t[j] + carry;
      out[j] = (u64)s;
      carry = (u64)(s >> 64);
    }
    const u128 k = (u128)carry * c;  // carry < 2^35
    u128 s = (u128)out[0] + (u64)k;
    out[0] = (u64)s;
    s = (u128)out[1] + (u64)(k >> 64) + (u64)(s >> 64);
    out[1] = (u64)s;
    u64 top = (u64)(s >> 64);
    for (int j = 2; j < 4; ++j) {
      s = (u128)out[j] + top;
      out[j] = (u64)s;
      top = (u64)(s >> 64);
    }
    add_small(out, top * c);
    std::memcpy(r, out, sizeof(out));
  }
};

// Elements of the coordinate field: Fq (DEG 1) or Fq2 with u^2 = -1 (DEG 2), stored [comp][word].
template <int N, int DEG, class FieldT = Field<N>>
struct Coord {
  const FieldT& F;
  __attribute__((noinline)) void add(u64* r, const u64* a, const u64* b) const {
    for (int k = 0; k < DEG; ++k) F.add(r + k * N, a + k * N, b + k * N);
  }
  __attribute__((noinline)) void sub(u64* r, const u64* a, const u64* b) const {
    for (int k = 0; k < DEG; ++k) F.sub(r + k * N, a + k * N, b + k * N);
  }
  __attribute__((noinline)) void mul(u64* r, const u64* a, const u64* b) const {
    if constexpr (DEG == 1) {
      F.mul(r, a, b);
    } else {  // (a0 + a1 u)(b0 + b1 u) = (a0 b0 - a1 b1) + ((a0 + a1)(b0 + b1) - a0 b0 - a1 b1) u
      u64 t0[N], t1[N], sa[N], sb[N], t2[N];
      F.mul(t0, a, b);
      F.mul(t1, a + N, b + N);
      F.add(sa, a, a + N);
      F.add(sb, b, b + N);
      F.mul(t2, sa, sb);
      F.sub(r, t0, t1);
      F.sub(t2, t2, t0);
      F.sub(r + N, t2, t1);
    }
  }
  // a^-1 (0 for a = 0); for Fq2 by the norm: (a0 - a1 u) / (a0^2 + a1^2). one: Montgomery 1 of Fq.
  void inv(u64* r, const u64* a, const u64* one) const {
    if constexpr (DEG == 1) {
      F.inv(r, a, one);
    } else {
      u64 t0[N], t1[N], norm[N], zero[N] = {0};
      F.mul(t0, a, a);
      F.mul(t1, a + N, a + N);
      F.add(norm, t0, t1);
      F.inv(norm, norm, one);
      F.mul(r, a, norm);
      F.mul(t1, a + N, norm);
      F.sub(r + N, zero, t1);
    }
  }
};

template <int N, int DEG>
struct Point {
  u64 x[DEG * N], y[DEG * N], z[DEG * N];
};

// P + Q, RCB Alg. 7 (a = 0), same operation order as weierstrass.py::add.
template <int N, int DEG, class CoordT>
inline void point_add(const CoordT& C, const u64* b3, Point<N, DEG>& out, const Point<N, DEG>& P,
                      const Point<N, DEG>& Q) {
  constexpr int E = DEG * N;
  u64 t0[E], t1[E], t2[E], t3[E], t4[E], t5[E], u[E], v[E], y3[E], x3[E], z3[E];
  C.mul(t0, P.x, Q.x);
  C.mul(t1, P.y, Q.y);
  C.mul(t2, P.z, Q.z);
  C.add(u, P.x, P.y); C.add(v, Q.x, Q.y); C.mul(t3, u, v);
  C.add(u, P.y, P.z); C.add(v, Q.y, Q.z); C.mul(t4, u, v);
  C.add(u, P.x, P.z); C.add(v, Q.x, Q.z); C.mul(t5, u, v);
  C.add(u, t0, t1); C.sub(t3, t3, u);   // X1 Y2 + X2 Y1
  C.add(u, t1, t2); C.sub(t4, t4, u);   // Y1 Z2 + Y2 Z1
  C.add(u, t0, t2); C.sub(y3, t5, u);   // X1 Z2 + X2 Z1
  C.add(u, t0, t0); C.add(t0, u, t0);   // 3 X1 X2
  C.mul(t2, t2, b3);
  C.mul(y3, y3, b3);
  C.add(z3, t1, t2);
  C.sub(t1, t1, t2);
  C.mul(x3, t4, y3);
  C.mul(t2, t3, t1);
  C.mul(y3, y3, t0);
  C.mul(t1, t1, z3);
  C.mul(t0, t0, t3);
  C.mul(z3, z3, t4);
  C.sub(out.x, t2, x3);
  C.add(out.y, t1, y3);
  C.add(out.z, z3, t0);
}

// P + Q for an affine Q (Z2 = 1, not the identity), RCB Alg. 8 (a = 0): 11 products instead of 14.
template <int N, int DEG, class CoordT>
inline void point_add_mixed(const CoordT& C, const u64* b3, Point<N, DEG>& out, const Point<N, DEG>& P,
                            const Point<N, DEG>& Q) {
  constexpr int E = DEG * N;
  u64 t0[E], t1[E], t2[E], t3[E], t4[E], x3[E], y3[E], z3[E];
  C.mul(t0, P.x, Q.x);
  C.mul(t1, P.y, Q.y);
  C.add(t3, Q.x, Q.y); C.add(t4, P.x, P.y); C.mul(t3, t3, t4);
  C.add(t4, t0, t1); C.sub(t3, t3, t4);        // X1 Y2 + X2 Y1
  C.mul(t4, Q.y, P.z); C.add(t4, t4, P.y);      // Y2 Z1 + Y1
  C.mul(y3, Q.x, P.z); C.add(y3, y3, P.x);      // X2 Z1 + X1
  C.add(x3, t0, t0); C.add(t0, x3, t0);         // 3 X1 X2
  C.mul(t2, b3, P.z);
  C.add(z3, t1, t2); C.sub(t1, t1, t2);
  C.mul(y3, b3, y3);
  C.mul(x3, t4, y3);
  C.mul(t2, t3, t1);
  C.sub(x3, t2, x3);
  C.mul(y3, y3, t0);
  C.mul(t1, t1, z3);
  C.add(y3, t1, y3);
  C.mul(t0, t0, t3);
  C.mul(z3, z3, t4);
  C.add(z3, z3, t0);
  std::memcpy(out.x, x3, sizeof(x3));
  std::memcpy(out.y, y3, sizeof(y3));
  std::memcpy(out.z, z3, sizeof(z3));
}


// 2P, RCB Alg. 9 (a = 0), same operation order as weierstrass.py::double up to the grouping of the
// small constants: 6 products, 2 squarings and one product by 3b. `out` may alias P.
template <int N, int DEG, class CoordT>
inline void point_double(const CoordT& C, const u64* b3, Point<N, DEG>& out, const Point<N, DEG>& P) {
  constexpr int E = DEG * N;
  u64 t0[E], t1[E], t2[E], x3[E], y3[E], z3[E];
  C.mul(t0, P.y, P.y);
  C.add(z3, t0, t0); C.add(z3, z3, z3); C.add(z3, z3, z3);  // 8 Y^2
  C.mul(t1, P.y, P.z);
  C.mul(t2, P.z, P.z);
  C.mul(t2, t2, b3);                                         // 3b Z^2
  C.mul(x3, t2, z3);
  C.add(y3, t0, t2);
  C.mul(z3, t1, z3);
  C.add(t1, t2, t2); C.add(t2, t1, t2);                      // 9b Z^2
  C.sub(t0, t0, t2);
  C.mul(y3, t0, y3);
  C.add(y3, x3, y3);
  C.mul(t1, P.x, P.y);
  C.mul(x3, t0, t1);
  C.add(x3, x3, x3);
  std::memcpy(out.x, x3, sizeof(x3));
  std::memcpy(out.y, y3, sizeof(y3));
  std::memcpy(out.z, z3, sizeof(z3));
}

// Short-Weierstrass (a = 0) point operations over Fq (DEG 1) or Fq2 (DEG 2) of N words, with the
// constants every kernel receives first: p, -p^-1 mod 2^64, Montgomery 1, Montgomery 3b (DEG x N
// words), as little-endian uint32 pairs (`native/__init__.py::_consts`). K = 3 projective coordinates.
template <int N, int DEG_>
struct WeierstrassOps {
  static constexpr int DEG = DEG_, K = 3, E = DEG_ * N;
  using P = Point<N, DEG>;
  Field<N> F;
  u64 one[N], b3[DEG * N];
  explicit WeierstrassOps(const uint32_t* consts) {
    auto word = [&](int i) { return (u64)consts[2 * i] | ((u64)consts[2 * i + 1] << 32); };
    for (int i = 0; i < N; ++i) F.p[i] = word(i);
    F.n0 = word(N);
    for (int i = 0; i < N; ++i) one[i] = word(N + 1 + i);
    for (int i = 0; i < DEG * N; ++i) b3[i] = word(2 * N + 1 + i);
  }
  static u64* coord(P& a, int c) { return c == 0 ? a.x : c == 1 ? a.y : a.z; }
  static const u64* coord(const P& a, int c) { return c == 0 ? a.x : c == 1 ? a.y : a.z; }
  void identity(P& a) const {
    std::memset(&a, 0, sizeof(a));
    std::memcpy(a.y, one, sizeof(one));
  }
  void add(P& out, const P& a, const P& b) const {
    Coord<N, DEG> C{F};
    point_add<N, DEG>(C, b3, out, a, b);
  }
  void dbl(P& out, const P& a) const {
    Coord<N, DEG> C{F};
    point_double<N, DEG>(C, b3, out, a);
  }
  // acc + P, choosing the mixed formula when P is affine (Z = 1) and skipping the identity (Z = 0)
  void accumulate(P& acc, const P& pt) const {
    bool z_one = std::memcmp(pt.z, one, sizeof(one)) == 0, z_zero = true;
    for (int i = N; i < DEG * N; ++i) z_one = z_one && pt.z[i] == 0;
    for (int i = 0; i < DEG * N; ++i) z_zero = z_zero && pt.z[i] == 0;
    if (z_zero) return;
    Coord<N, DEG> C{F};
    if (z_one) {
      point_add_mixed<N, DEG>(C, b3, acc, acc, pt);
    } else {
      point_add<N, DEG>(C, b3, acc, acc, pt);
    }
  }
  void negate(P& a) const {  // -(X : Y : Z) = (X : -Y : Z), each Fq component
    const u64 zero[N] = {0};
    for (int k = 0; k < DEG; ++k) F.sub(a.y + k * N, zero, a.y + k * N);
  }
  // True when every word of every coordinate component is < p (canonical input).
  bool canonical(const P& a) const {
    for (int c = 0; c < K; ++c)
      for (int k = 0; k < DEG; ++k) {
        const u64* v = coord(a, c) + k * N;
        u64 d[N];
        if (Field<N>::sub_words(d, v, F.p) == 0) return false;  // no borrow: v >= p
      }
    return true;
  }
};

// One lane of a limb-major point array (K, 2 NW, [DEG,] count) of uint32 limbs (the library's layout:
// 64-bit word w of component k of coordinate c is limbs 2w, 2w + 1), to and from the kernels' Point.
template <class Ops>
inline void load_lane(typename Ops::P& dst, const uint32_t* src, int64_t count, int64_t j) {
  constexpr int NW = Ops::E / Ops::DEG, DEG = Ops::DEG;
  for (int c = 0; c < Ops::K; ++c) {
    u64* coord = Ops::coord(dst, c);
    for (int w = 0; w < NW; ++w)
      for (int k = 0; k < DEG; ++k)
        coord[k * NW + w] = (u64)src[((c * 2 * NW + 2 * w) * DEG + k) * count + j] |
                            ((u64)src[((c * 2 * NW + 2 * w + 1) * DEG + k) * count + j] << 32);
  }
}

template <class Ops>
inline void store_lane(const typename Ops::P& src, uint32_t* out, int64_t count, int64_t j) {
  constexpr int NW = Ops::E / Ops::DEG, DEG = Ops::DEG;
  for (int c = 0; c < Ops::K; ++c) {
    const u64* coord = Ops::coord(src, c);
    for (int w = 0; w < NW; ++w)
      for (int k = 0; k < DEG; ++k) {
        out[((c * 2 * NW + 2 * w) * DEG + k) * count + j] = (uint32_t)coord[k * NW + w];
        out[((c * 2 * NW + 2 * w + 1) * DEG + k) * count + j] = (uint32_t)(coord[k * NW + w] >> 32);
      }
  }
}

// Twisted Edwards a = -1, extended coordinates (X : Y : Z : T), over Fp with N words.
template <int N>
struct EdPoint {
  u64 x[N], y[N], z[N], t[N];
};

// P + Q, add-2008-hwcd-3 (complete for a = -1 and d a non-square), as edwards.py::add; d2 = 2 d.
template <int N, class FieldT>
inline void ed_add(const FieldT& F, const u64* d2, EdPoint<N>& out, const EdPoint<N>& a, const EdPoint<N>& b) {
  u64 A[N], B[N], C[N], D[N], E[N], Fv[N], G[N], H[N], u[N], v[N];
  F.sub(u, a.y, a.x); F.sub(v, b.y, b.x); F.mul(A, u, v);
  F.add(u, a.y, a.x); F.add(v, b.y, b.x); F.mul(B, u, v);
  F.mul(C, a.t, b.t); F.mul(C, C, d2);
  F.mul(D, a.z, b.z); F.add(D, D, D);
  F.sub(E, B, A); F.sub(Fv, D, C); F.add(G, D, C); F.add(H, B, A);
  F.mul(out.x, E, Fv);
  F.mul(out.y, G, H);
  F.mul(out.t, E, H);
  F.mul(out.z, Fv, G);
}

// 2P, dbl-2008-hwcd with a = -1, as edwards.py::double.
template <int N, class FieldT>
inline void ed_dbl(const FieldT& F, EdPoint<N>& out, const EdPoint<N>& a) {
  u64 A[N], B[N], C[N], S[N], AB[N], E[N], G[N], Fv[N], H[N];
  const u64 zero[N] = {0};
  F.add(S, a.x, a.y); F.mul(S, S, S);
  F.mul(A, a.x, a.x);
  F.mul(B, a.y, a.y);
  F.mul(C, a.z, a.z); F.add(C, C, C);
  F.add(AB, A, B);
  F.sub(G, B, A);
  F.sub(E, S, AB);
  F.sub(Fv, G, C);
  F.sub(H, zero, AB);
  F.mul(out.x, E, Fv);
  F.mul(out.y, G, H);
  F.mul(out.t, E, H);
  F.mul(out.z, Fv, G);
}

}  // namespace supervm
