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

#include "field64.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using supervm::Coord;
using supervm::Field;
using supervm::Point;
using supervm::point_add;
using supervm::point_add_mixed;
using supervm::u64;

namespace {

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
