// Native CPU kernel for the MSM's bucket sums (`msm/pippenger.py::window_sums`), reached from JAX
// through the XLA FFI.
//
//   points (B n, K, L32, [2]) uint32 — or (n, K, L32, [2]): n points shared by all B instances (a
//   batch of MSMs over one proving key) — point-major, Montgomery form (radix 2^(32 L32)): projective
//   X, Y, Z over Fq (DEG 1) or Fq2 = Fq[u]/(u^2 + 1) (DEG 2) for short Weierstrass curves (K = 3),
//   or extended X, Y, Z, T over Fp for twisted Edwards (K = 4); digits (B, W, n) int32 signed
//   window digits in [-2^(c-1), 2^(c-1)] (checked); consts (uint32): p (L32 limbs), -p^-1 mod 2^64
//   (2 limbs), Montgomery one (L32), 3b (DEG x L32) or 2d. Output: (K, L32, [2,] B W) window sums
//   S_{b,w} = sum_i d_{b,w,i} P_{b,i} (P_{b,i} = P_i when shared), limb-major like every array of the
//   library.
//
// The point additions are the complete formulas of `curve/weierstrass.py::add` (Renes-Costello-
// Batina, a = 0, Alg. 7) and `curve/edwards.py::add` (add-2008-hwcd-3), every field result fully
// reduced. Field elements are
// N64 = L32 / 2 little-endian 64-bit words (the same Montgomery radix); products use
// unsigned __int128.
//
// Build: g++ -O3 -march=native -std=c++17 -shared -fPIC -I<jax.ffi.include_dir()> (see __init__.py).

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "field64.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using supervm::EdPoint;
using supervm::Field;
using supervm::u64;

namespace {

// Twisted Edwards (a = -1) bucket operations over Fp: K = 4 extended coordinates.
template <int N>
struct EdKernel {
  static constexpr int K = 4, E = N, DEG = 1;
  using P = EdPoint<N>;
  Field<N> F;
  u64 one[N], d2[N];
  explicit EdKernel(const uint32_t* consts) {
    auto word = [&](int i) { return (u64)consts[2 * i] | ((u64)consts[2 * i + 1] << 32); };
    for (int i = 0; i < N; ++i) F.p[i] = word(i);
    F.n0 = word(N);
    for (int i = 0; i < N; ++i) one[i] = word(N + 1 + i);
    for (int i = 0; i < N; ++i) d2[i] = word(2 * N + 1 + i);
  }
  static u64* coord(P& a, int c) { return c == 0 ? a.x : c == 1 ? a.y : c == 2 ? a.z : a.t; }
  static const u64* coord(const P& a, int c) { return c == 0 ? a.x : c == 1 ? a.y : c == 2 ? a.z : a.t; }
  void identity(P& a) const {
    std::memset(&a, 0, sizeof(a));
    std::memcpy(a.y, one, sizeof(one));
    std::memcpy(a.z, one, sizeof(one));
  }
  void add(P& out, const P& a, const P& b) const { supervm::ed_add<N>(F, d2, out, a, b); }
  void accumulate(P& acc, const P& pt) const {  // padding identities (X = 0, Y = Z) are skipped
    bool x_zero = true;
    for (int i = 0; i < N; ++i) x_zero = x_zero && pt.x[i] == 0;
    if (x_zero && std::memcmp(pt.y, pt.z, sizeof(pt.y)) == 0) return;
    add(acc, acc, pt);
  }
  void negate(P& a) const {  // -(X : Y : Z : T) = (-X : Y : Z : -T)
    const u64 zero[N] = {0};
    F.sub(a.x, zero, a.x);
    F.sub(a.t, zero, a.t);
  }
};

// Bucket sums of one device's share, the classic way: for every instance b and window w, each point
// is added into the bucket of its digit's magnitude (negated for a negative digit), then
// S = sum_m m B_m by a running sum from the top bucket down. Points are read in order from a
// point-major table (K, L32, [2]); the M buckets (M * 96 bytes on G1) stay in cache. Output:
// (K, L32, [2,] B W) limb-major, like every array of the library.
template <class Ops>
void bucket_sums(const Ops& ops, const uint32_t* points, int64_t stride, const int32_t* digits, int64_t B, int64_t W,
                 int64_t n, int64_t c_bits, uint32_t* out) {
  using P = typename Ops::P;
  constexpr int K = Ops::K, DEG = Ops::DEG, E = Ops::E, NW = E / DEG;
  const int64_t M = int64_t(1) << (c_bits - 1);
  const int64_t count = B * W;
  std::vector<P> buckets(M);
  P pt, running, sum;
  auto load = [&](P& dst, const uint32_t* src) {  // limbs little-endian, Fq2 components interleaved
    for (int c = 0; c < K; ++c) {
      u64* coord = Ops::coord(dst, c);
      for (int w = 0; w < NW; ++w)
        for (int k = 0; k < DEG; ++k) {
          const uint32_t* lo = src + ((c * 2 * NW + 2 * w) * DEG + k);
          coord[k * NW + w] = (u64)lo[0] | ((u64)lo[DEG] << 32);
        }
    }
  };
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t w = 0; w < W; ++w) {
      for (auto& bk : buckets) ops.identity(bk);
      const int32_t* d = digits + (b * W + w) * n;
      for (int64_t i = 0; i < n; ++i) {
        const int32_t di = d[i];
        if (di == 0) continue;
        load(pt, points + (b * stride + i) * K * E * 2);
        if (di < 0) ops.negate(pt);
        const int64_t m = (di < 0 ? -di : di) - 1;
        ops.accumulate(buckets[m], pt);
      }
      ops.identity(running);
      ops.identity(sum);
      for (int64_t m = M - 1; m >= 0; --m) {
        ops.add(running, running, buckets[m]);
        ops.add(sum, sum, running);
      }
      supervm::store_lane<Ops>(sum, out, count, b * W + w);
    }
  }
}

// v[k] <- v[k]^-1 for count nonzero elements of E = N DEG words each (Montgomery's trick: one
// inversion and 3 (count - 1) products); prefix: scratch of count * E words.
template <int N, int DEG>
void batch_invert(const supervm::Coord<N, DEG>& C, const u64* one, u64* v, int64_t count, u64* prefix) {
  constexpr int E = N * DEG;
  if (count == 0) return;
  std::memcpy(prefix, v, sizeof(u64) * E);
  for (int64_t k = 1; k < count; ++k) C.mul(prefix + k * E, prefix + (k - 1) * E, v + k * E);
  u64 inv[E], t[E];
  C.inv(inv, prefix + (count - 1) * E, one);
  for (int64_t k = count - 1; k > 0; --k) {
    C.mul(t, inv, prefix + (k - 1) * E);  // v[k]^-1
    C.mul(inv, inv, v + k * E);           // (v[0] ... v[k-1])^-1
    std::memcpy(v + k * E, t, sizeof(t));
  }
  std::memcpy(v, inv, sizeof(inv));
}

// Bucket sums for short-Weierstrass curves with the buckets kept in affine coordinates (the
// "batch-affine" method): the additions into buckets are queued, up to BATCH of them on distinct
// buckets, and completed together with one shared inversion of their denominators:
//   lambda = (y_P - y_B) / (x_P - x_B)  (or 3 x^2 / 2 y when P = B),
//   x' = lambda^2 - x_B - x_P,  y' = lambda (x_B - x') - y_B,
// about 6 products per addition against 11 for the mixed projective one. A point whose bucket already
// has a queued addition waits in a FIFO for the next batch; past BATCH waiting points it goes into
// the bucket's projective overflow accumulator instead (mixed addition), so repeated digits cannot
// stall. P = -B empties the bucket. The points are made affine once per call (one batched inversion
// of the Z's that are neither 0 nor 1). The reduction S = sum_m m B_m runs in projective
// coordinates as in `bucket_sums`. Same sums (as group elements) as `bucket_sums`.
template <int N, int DEG>
void bucket_sums_affine(const supervm::WeierstrassOps<N, DEG>& ops, const uint32_t* points, int64_t stride,
                        const int32_t* digits, int64_t B, int64_t W, int64_t n, int64_t c_bits, uint32_t* out) {
  using Ops = supervm::WeierstrassOps<N, DEG>;
  using P = typename Ops::P;
  constexpr int E = Ops::E, K = 3;
  const supervm::Coord<N, DEG> C{ops.F};
  const int64_t M = int64_t(1) << (c_bits - 1);
  const int64_t BATCH = std::max<int64_t>(1, std::min<int64_t>(256, M / 2));
  const int64_t count = B * W, total = stride ? B * n : n;
  auto is_zero = [](const u64* a) {
    u64 acc = 0;
    for (int i = 0; i < E; ++i) acc |= a[i];
    return acc == 0;
  };

  // Affine copies of all points: ax, ay (total * E words each), finite flags.
  std::vector<u64> ax(total * E), ay(total * E), zs, scratch;
  std::vector<uint8_t> finite(total, 0);
  std::vector<int64_t> to_normalize;
  {
    P pt;
    for (int64_t j = 0; j < total; ++j) {
      const uint32_t* src = points + j * K * E * 2;
      for (int c = 0; c < K; ++c) {  // point-major (K, L32, [DEG]) uint32 limbs
        u64* coord = Ops::coord(pt, c);
        for (int w = 0; w < N; ++w)
          for (int k = 0; k < DEG; ++k) {
            const uint32_t* lo = src + ((c * 2 * N + 2 * w) * DEG + k);
            coord[k * N + w] = (u64)lo[0] | ((u64)lo[DEG] << 32);
          }
      }
      if (is_zero(pt.z)) continue;  // the identity (padding): skipped
      finite[j] = 1;
      std::memcpy(&ax[j * E], pt.x, sizeof(pt.x));
      std::memcpy(&ay[j * E], pt.y, sizeof(pt.y));
      bool z_one = std::memcmp(pt.z, ops.one, sizeof(ops.one)) == 0;
      for (int i = N; i < E; ++i) z_one = z_one && pt.z[i] == 0;
      if (!z_one) {
        to_normalize.push_back(j);
        zs.insert(zs.end(), pt.z, pt.z + E);
      }
    }
    const int64_t m = (int64_t)to_normalize.size();
    scratch.resize(std::max<int64_t>(m, BATCH) * E);
    batch_invert<N, DEG>(C, ops.one, zs.data(), m, scratch.data());
    for (int64_t k = 0; k < m; ++k) {
      const int64_t j = to_normalize[k];
      C.mul(&ax[j * E], &ax[j * E], &zs[k * E]);
      C.mul(&ay[j * E], &ay[j * E], &zs[k * E]);
    }
  }

  std::vector<u64> bx(M * E), by(M * E);
  std::vector<uint8_t> full(M);
  std::vector<int64_t> stamp(M);
  std::vector<P> overflow(M);
  std::vector<uint8_t> overflowed(M);
  // the queued additions: bucket, the point's x, numerator, denominator
  std::vector<int64_t> qm(BATCH);
  std::vector<u64> qx(BATCH * E), qnum(BATCH * E), qden(BATCH * E);
  std::vector<std::pair<int64_t, int32_t>> waiting, retry;  // (point index, digit)
  int64_t queued = 0, batch_id = 0;
  const u64 zero[E] = {0};

  auto flush = [&]() {
    batch_invert<N, DEG>(C, ops.one, qden.data(), queued, scratch.data());
    u64 lambda[E], l2[E], t[E];
    for (int64_t k = 0; k < queued; ++k) {
      u64* x = &bx[qm[k] * E];
      u64* y = &by[qm[k] * E];
      C.mul(lambda, &qnum[k * E], &qden[k * E]);
      C.mul(l2, lambda, lambda);
      C.sub(l2, l2, x);
      C.sub(l2, l2, &qx[k * E]);  // x'
      C.sub(t, x, l2);
      C.mul(t, lambda, t);
      C.sub(y, t, y);              // y' = lambda (x_B - x') - y_B
      std::memcpy(x, l2, sizeof(l2));
    }
    queued = 0;
    ++batch_id;
  };
  // Adds point j (digit d != 0) into its bucket; false when the bucket already has a queued addition.
  auto add_point = [&](int64_t j, int32_t d) -> bool {
    const int64_t m = (d < 0 ? -d : d) - 1;
    if (stamp[m] == batch_id) return false;
    const u64* x = &ax[j * E];
    u64 y[E];
    if (d < 0) {
      C.sub(y, zero, &ay[j * E]);
    } else {
      std::memcpy(y, &ay[j * E], sizeof(y));
    }
    u64* bxm = &bx[m * E];
    u64* bym = &by[m * E];
    if (!full[m]) {
      std::memcpy(bxm, x, sizeof(u64) * E);
      std::memcpy(bym, y, sizeof(y));
      full[m] = 1;
      return true;
    }
    u64* num = &qnum[queued * E];
    u64* den = &qden[queued * E];
    C.sub(den, x, bxm);
    if (is_zero(den)) {
      if (std::memcmp(y, bym, sizeof(y)) != 0 || is_zero(y)) {  // P = -B (or a 2-torsion P = B): O
        full[m] = 0;
        return true;
      }
      C.mul(num, x, x);  // P = B: lambda = 3 x^2 / 2 y
      u64 t[E];
      C.add(t, num, num);
      C.add(num, t, num);
      C.add(den, y, y);
    } else {
      C.sub(num, y, bym);
    }
    qm[queued] = m;
    std::memcpy(&qx[queued * E], x, sizeof(u64) * E);
    stamp[m] = batch_id;
    if (++queued == BATCH) flush();
    return true;
  };
  auto to_overflow = [&](int64_t j, int32_t d) {
    const int64_t m = (d < 0 ? -d : d) - 1;
    P pt;
    std::memcpy(pt.x, &ax[j * E], sizeof(pt.x));
    if (d < 0) {
      C.sub(pt.y, zero, &ay[j * E]);
    } else {
      std::memcpy(pt.y, &ay[j * E], sizeof(pt.y));
    }
    std::memset(pt.z, 0, sizeof(pt.z));
    std::memcpy(pt.z, ops.one, sizeof(ops.one));
    if (!overflowed[m]) ops.identity(overflow[m]);
    overflowed[m] = 1;
    ops.accumulate(overflow[m], pt);
  };
  auto drain = [&]() {  // one pass over the waiting points (after a flush their buckets are free)
    retry.swap(waiting);
    waiting.clear();
    for (const auto& [j, d] : retry)
      if (!add_point(j, d)) waiting.emplace_back(j, d);
  };

  P pt, running, sum;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t w = 0; w < W; ++w) {
      std::fill(full.begin(), full.end(), 0);
      std::fill(overflowed.begin(), overflowed.end(), 0);
      std::fill(stamp.begin(), stamp.end(), -1);
      queued = 0;
      batch_id = 0;
      waiting.clear();
      const int32_t* d = digits + (b * W + w) * n;
      for (int64_t i = 0; i < n; ++i) {
        const int32_t di = d[i];
        const int64_t j = b * stride + i;
        if (di == 0 || !finite[j]) continue;
        const int64_t before = batch_id;
        if (!add_point(j, di)) {
          if ((int64_t)waiting.size() < BATCH) {
            waiting.emplace_back(j, di);
          } else {
            to_overflow(j, di);
          }
        }
        if (batch_id != before && !waiting.empty()) drain();
      }
      while (!waiting.empty() || queued) {
        flush();
        drain();
      }
      ops.identity(running);
      ops.identity(sum);
      for (int64_t m = M - 1; m >= 0; --m) {
        if (full[m]) {
          std::memcpy(pt.x, &bx[m * E], sizeof(pt.x));
          std::memcpy(pt.y, &by[m * E], sizeof(pt.y));
          std::memset(pt.z, 0, sizeof(pt.z));
          std::memcpy(pt.z, ops.one, sizeof(ops.one));
          if (overflowed[m]) {
            ops.accumulate(overflow[m], pt);
          } else {
            ops.accumulate(running, pt);
          }
        }
        if (overflowed[m]) ops.add(running, running, overflow[m]);
        ops.add(sum, sum, running);
      }
      supervm::store_lane<Ops>(sum, out, count, b * W + w);
    }
  }
}

template <class Ops>
ffi::Error run_bucket_sums(const uint32_t* consts, const uint32_t* points, int64_t stride, const int32_t* digits,
                           int64_t B, int64_t W, int64_t n, int64_t c_bits, uint32_t* out) {
  Ops ops(consts);
  if constexpr (Ops::K == 3) {  // short Weierstrass: affine buckets
    bucket_sums_affine<Ops::E / Ops::DEG, Ops::DEG>(ops, points, stride, digits, B, W, n, c_bits, out);
  } else {
    bucket_sums<Ops>(ops, points, stride, digits, B, W, n, c_bits, out);
  }
  return ffi::Error::Success();
}

// "(d0, d1, ...)" for error messages.
std::string shape_str(ffi::Span<const int64_t> dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + ")";
}

// True when dims == want.
bool same_shape(ffi::Span<const int64_t> dims, const std::vector<int64_t>& want) {
  return dims.size() == want.size() && std::equal(want.begin(), want.end(), dims.begin());
}

// points (B * n or n shared, K, L32, [2,]) point-major projective; digits (B, W, n) int32 in [-M, M]. Output
// (K, L32, [2,] B * W) projective window sums. form 0: short Weierstrass (K = 3, Fq or Fq2 of 4 or 6
// words); form 1: twisted Edwards (K = 4, Fp of 4 words). Everything the kernel indexes with is
// checked first (form, field size, c_bits, every shape, the constants' length, every digit); a bad
// input fails the call with an InvalidArgument naming it, before any point is read.
ffi::Error BucketSumsImpl(ffi::Buffer<ffi::U32> consts, ffi::Buffer<ffi::U32> points, ffi::Buffer<ffi::S32> digits,
                          ffi::ResultBuffer<ffi::U32> sums, int64_t n64, int64_t degree, int64_t c_bits, int64_t form) {
  const std::string where = "msm bucket_sums: ";
  if (form != 0 && form != 1) return ffi::Error::InvalidArgument(where + "form " + std::to_string(form) + " is not 0 or 1");
  const bool field_ok = form == 1 ? n64 == 4 && degree == 1 : (n64 == 4 || n64 == 6) && (degree == 1 || degree == 2);
  if (!field_ok)
    return ffi::Error::InvalidArgument(where + "unsupported field: n64 = " + std::to_string(n64) + ", degree = " +
                                       std::to_string(degree) + (form == 1 ? " (twisted Edwards: 4-word prime fields only)" : ""));
  if (c_bits < 1 || c_bits > 24)
    return ffi::Error::InvalidArgument(where + "c_bits = " + std::to_string(c_bits) + " is outside [1, 24]");
  auto dd = digits.dimensions();
  if (dd.size() != 3) return ffi::Error::InvalidArgument(where + "digits must be (B, W, n), got " + shape_str(dd));
  const int64_t B = dd[0], W = dd[1], n = dd[2];
  const int64_t K = form == 1 ? 4 : 3;
  std::vector<int64_t> head = {K, 2 * n64};
  if (degree == 2) head.push_back(2);
  std::vector<int64_t> want_points = {B * n}, want_shared = {n}, want_sums = head;
  want_points.insert(want_points.end(), head.begin(), head.end());
  want_shared.insert(want_shared.end(), head.begin(), head.end());
  want_sums.push_back(B * W);
  // stride between instances' points: n, or 0 when all B instances share one set of n points
  int64_t stride = n;
  if (!same_shape(points.dimensions(), want_points)) {
    if (!same_shape(points.dimensions(), want_shared))
      return ffi::Error::InvalidArgument(where + "points must be " + shape_str(want_points) + " (B * n, K, L32, [2]) or " +
                                         shape_str(want_shared) + " (n points shared by the B instances), got " +
                                         shape_str(points.dimensions()));
    stride = 0;
  }
  if (!same_shape(sums->dimensions(), want_sums))
    return ffi::Error::InvalidArgument(where + "result must be " + shape_str(want_sums) + " (K, L32, [2,] B * W), got " +
                                       shape_str(sums->dimensions()));
  const int64_t want_consts = 2 * (2 * n64 + 1 + degree * n64);  // p, -p^-1, one, 3b (DEG words) or 2d
  if ((int64_t)consts.element_count() < want_consts)
    return ffi::Error::InvalidArgument(where + "constants have " + std::to_string(consts.element_count()) +
                                       " words, need " + std::to_string(want_consts));
  const int64_t M = int64_t(1) << (c_bits - 1);
  const int32_t* dg = digits.typed_data();
  for (int64_t k = 0; k < B * W * n; ++k)
    if (dg[k] < -M || dg[k] > M)
      return ffi::Error::InvalidArgument(where + "digit (b, w, i) = (" + std::to_string(k / (W * n)) + ", " +
                                         std::to_string(k / n % W) + ", " + std::to_string(k % n) + ") is " +
                                         std::to_string(dg[k]) + ", outside [-" + std::to_string(M) + ", " +
                                         std::to_string(M) + "] for c_bits = " + std::to_string(c_bits));
  using W41 = supervm::WeierstrassOps<4, 1>;
  using W42 = supervm::WeierstrassOps<4, 2>;
  using W61 = supervm::WeierstrassOps<6, 1>;
  using W62 = supervm::WeierstrassOps<6, 2>;
#define SUPERVM_BUCKETS(OPS) \
  run_bucket_sums<OPS>(consts.typed_data(), points.typed_data(), stride, dg, B, W, n, c_bits, sums->typed_data())
  if (form == 1) return SUPERVM_BUCKETS(EdKernel<4>);
  if (n64 == 4 && degree == 1) return SUPERVM_BUCKETS(W41);
  if (n64 == 4 && degree == 2) return SUPERVM_BUCKETS(W42);
  if (n64 == 6 && degree == 1) return SUPERVM_BUCKETS(W61);
  return SUPERVM_BUCKETS(W62);
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SupervmMsmBucketSums, BucketSumsImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()  // consts
                                  .Arg<ffi::Buffer<ffi::U32>>()  // points, point-major
                                  .Arg<ffi::Buffer<ffi::S32>>()  // signed digits (B, W, n)
                                  .Ret<ffi::Buffer<ffi::U32>>()  // window sums (K, L32, [2,] B * W)
                                  .Attr<int64_t>("n64")
                                  .Attr<int64_t>("degree")
                                  .Attr<int64_t>("c_bits")
                                  .Attr<int64_t>("form"));
