// Native CPU kernel for the MSM's bucket sums (`msm/pippenger.py::window_sums`), reached from JAX
// through the XLA FFI.
//
//   points (B n, 3, L32, [2]) uint32, point-major, Montgomery form (radix 2^(32 L32)): projective
//   X, Y, Z over Fq (DEG 1) or Fq2 = Fq[u]/(u^2 + 1) (DEG 2); digits (B, W, n) int32 signed window
//   digits in [-2^(c-1), 2^(c-1)]; consts (uint32): p (L32 limbs), -p^-1 mod 2^64 (2 limbs),
//   Montgomery one (L32), 3b (DEG x L32). Output: (3, L32, [2,] B W) window sums
//   S_{b,w} = sum_i d_{b,w,i} P_{b,i}, limb-major like every array of the library.
//
// The point addition is the complete Renes-Costello-Batina formula for a = 0 (Alg. 7), in the same
// order as `curve/weierstrass.py::add`, with every field result fully reduced. Field elements are
// N64 = L32 / 2 little-endian 64-bit words (the same Montgomery radix); products use
// unsigned __int128.
//
// Build: g++ -O3 -march=native -std=c++17 -shared -fPIC -I<jax.ffi.include_dir()> (see __init__.py).

#include <cstdint>
#include <cstring>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using u64 = uint64_t;
using u128 = unsigned __int128;

namespace {

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
};

// Elements of the coordinate field: Fq (DEG 1) or Fq2 with u^2 = -1 (DEG 2), stored [comp][word].
template <int N, int DEG>
struct Coord {
  const Field<N>& F;
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
};

template <int N, int DEG>
struct Point {
  u64 x[DEG * N], y[DEG * N], z[DEG * N];
};

// P + Q, RCB Alg. 7 (a = 0), same operation order as weierstrass.py::add.
template <int N, int DEG>
inline void point_add(const Coord<N, DEG>& C, const u64* b3, Point<N, DEG>& out, const Point<N, DEG>& P,
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
template <int N, int DEG>
inline void point_add_mixed(const Coord<N, DEG>& C, const u64* b3, Point<N, DEG>& out, const Point<N, DEG>& P,
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

// Limb-major uint32 output (3, L32, [2,] count): point k of `count`.
template <int N, int DEG>
struct LimbMajorOut {
  uint32_t* base;
  int64_t count;
  inline void store(const Point<N, DEG>& P, int64_t k) const {
    const u64* src[3] = {P.x, P.y, P.z};
    for (int c = 0; c < 3; ++c)
      for (int w = 0; w < N; ++w)
        for (int d = 0; d < DEG; ++d) {
          base[(((c * 2 * N) + 2 * w) * DEG + d) * count + k] = (uint32_t)src[c][d * N + w];
          base[(((c * 2 * N) + 2 * w + 1) * DEG + d) * count + k] = (uint32_t)(src[c][d * N + w] >> 32);
        }
  }
};

template <int N, int DEG>
struct Kernel {
  Field<N> F;
  u64 one[N], b3[DEG * N];
  explicit Kernel(const uint32_t* consts) {
    auto word = [&](int i) { return (u64)consts[2 * i] | ((u64)consts[2 * i + 1] << 32); };
    for (int i = 0; i < N; ++i) F.p[i] = word(i);
    F.n0 = word(N);
    for (int i = 0; i < N; ++i) one[i] = word(N + 1 + i);
    for (int i = 0; i < DEG * N; ++i) b3[i] = word(2 * N + 1 + i);
  }
  void identity(Point<N, DEG>& a) const {
    std::memset(&a, 0, sizeof(a));
    std::memcpy(a.y, one, sizeof(one));
  }
  void add(Point<N, DEG>& out, const Point<N, DEG>& a, const Point<N, DEG>& b) const {
    Coord<N, DEG> C{F};
    point_add<N, DEG>(C, b3, out, a, b);
  }
  // acc + P, choosing the mixed formula when P is affine (Z = 1) and skipping the identity (Z = 0)
  void accumulate(Point<N, DEG>& acc, const Point<N, DEG>& P) const {
    bool z_one = std::memcmp(P.z, one, sizeof(one)) == 0, z_zero = true;
    for (int i = N; i < DEG * N; ++i) z_one = z_one && P.z[i] == 0;
    for (int i = 0; i < DEG * N; ++i) z_zero = z_zero && P.z[i] == 0;
    if (z_zero) return;
    Coord<N, DEG> C{F};
    if (z_one) {
      point_add_mixed<N, DEG>(C, b3, acc, acc, P);
    } else {
      point_add<N, DEG>(C, b3, acc, acc, P);
    }
  }
  void F_neg(u64* y) const {  // y = -y in place (each Fq component)
    const u64 zero[N] = {0};
    for (int k = 0; k < DEG; ++k) F.sub(y + k * N, zero, y + k * N);
  }
};

// Bucket sums of one device's share, the classic way: for every instance b and window w, each point
// is added into the bucket of its digit's magnitude (negated for a negative digit), then
// S = sum_m m B_m by a running sum from the top bucket down. Points are read in order from a
// point-major table; the M buckets (M * 96 bytes on G1) stay in cache.
template <int N, int DEG>
void bucket_sums(const Kernel<N, DEG>& K, const uint32_t* points, const int32_t* digits, int64_t B, int64_t W,
                 int64_t n, int64_t c_bits, uint32_t* out) {
  const int64_t M = int64_t(1) << (c_bits - 1);
  constexpr int E = DEG * N;
  std::vector<Point<N, DEG>> buckets(M);
  Point<N, DEG> P, running, sum;
  auto load = [&](Point<N, DEG>& dst, const uint32_t* src) {  // (3, L32, [2]) point-major, limbs little-endian
    u64* coords[3] = {dst.x, dst.y, dst.z};
    for (int c = 0; c < 3; ++c)
      for (int w = 0; w < N; ++w)
        for (int k = 0; k < DEG; ++k) {
          const uint32_t* lo = src + ((c * 2 * N + 2 * w) * DEG + k);
          coords[c][k * N + w] = (u64)lo[0] | ((u64)lo[DEG] << 32);
        }
  };
  LimbMajorOut<N, DEG> out_view{out, B * W};
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t w = 0; w < W; ++w) {
      for (auto& bk : buckets) K.identity(bk);
      const int32_t* d = digits + (b * W + w) * n;
      for (int64_t i = 0; i < n; ++i) {
        const int32_t di = d[i];
        if (di == 0) continue;
        load(P, points + (b * n + i) * 3 * E * 2);
        if (di < 0) K.F_neg(P.y);
        const int64_t m = (di < 0 ? -di : di) - 1;
        K.accumulate(buckets[m], P);
      }
      K.identity(running);
      K.identity(sum);
      for (int64_t m = M - 1; m >= 0; --m) {
        K.add(running, running, buckets[m]);
        K.add(sum, sum, running);
      }
      out_view.store(sum, b * W + w);
    }
  }
}

template <int N, int DEG>
ffi::Error run_bucket_sums(const uint32_t* consts, const uint32_t* points, const int32_t* digits, int64_t B, int64_t W,
                           int64_t n, int64_t c_bits, uint32_t* out) {
  Kernel<N, DEG> K(consts);
  bucket_sums<N, DEG>(K, points, digits, B, W, n, c_bits, out);
  return ffi::Error::Success();
}

#define SUPERVM_DISPATCH(n64, degree, CALL)                            \
  if (n64 == 4 && degree == 1) return CALL(4, 1);                      \
  if (n64 == 4 && degree == 2) return CALL(4, 2);                      \
  if (n64 == 6 && degree == 1) return CALL(6, 1);                      \
  if (n64 == 6 && degree == 2) return CALL(6, 2);                      \
  return ffi::Error::InvalidArgument("unsupported limb count / extension degree");

// points (B * n, 3, L32, [2,]) point-major projective; digits (B, W, n) int32 in [-M, M].
// Output (3, L32, [2,] B * W) projective window sums.
ffi::Error BucketSumsImpl(ffi::Buffer<ffi::U32> consts, ffi::Buffer<ffi::U32> points, ffi::Buffer<ffi::S32> digits,
                          ffi::ResultBuffer<ffi::U32> sums, int64_t n64, int64_t degree, int64_t c_bits) {
  auto dd = digits.dimensions();
  if (dd.size() != 3) return ffi::Error::InvalidArgument("digits must be (B, W, n)");
  const int64_t B = dd[0], W = dd[1], n = dd[2];
  if (points.dimensions()[0] != B * n) return ffi::Error::InvalidArgument("points must be (B * n, 3, L32, [2])");
#define SUPERVM_BUCKETS(nn, d) \
  run_bucket_sums<nn, d>(consts.typed_data(), points.typed_data(), digits.typed_data(), B, W, n, c_bits, sums->typed_data())
  SUPERVM_DISPATCH(n64, degree, SUPERVM_BUCKETS)
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SupervmMsmBucketSums, BucketSumsImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()  // consts
                                  .Arg<ffi::Buffer<ffi::U32>>()  // points, point-major
                                  .Arg<ffi::Buffer<ffi::S32>>()  // signed digits (B, W, n)
                                  .Ret<ffi::Buffer<ffi::U32>>()  // window sums (3, L32, [2,] B * W)
                                  .Attr<int64_t>("n64")
                                  .Attr<int64_t>("degree")
                                  .Attr<int64_t>("c_bits"));
