// Native CPU kernels for short-Weierstrass (a = 0) point batches, reached from JAX through the XLA FFI:
//
//   supervm_scalar_mul: k_i P_i per lane, the value of `curve/group.py::scalar_mul_bits` (the JAX
//     Montgomery ladder, one complete addition per bit). Here: 4-bit fixed windows, MSB first, over a
//     per-lane table of 0..15 P; the table entry is chosen by a masked scan over all 16 entries, so
//     the work and the memory accesses do not depend on the bits (the batch-verification weights
//     are secret until the check is done). Per 128-bit scalar: 15 + 32 additions, 128 doublings,
//     against the ladder's 256 additions.
//   supervm_msm_combine: sum_w 2^(c w) sum_d S_{d,b,w} per instance b, the value of
//     `msm/pippenger.py::combine` (device partials added, then Horner over the windows with c
//     doublings per window).
//
// Arrays are limb-major like every array of the library: points (3, L32, [2,] n) uint32 Montgomery
// form over Fq (DEG 1) or Fq2 (DEG 2) of N64 = L32 / 2 64-bit words (4 or 6). consts: p,
// -p^-1 mod 2^64, Montgomery 1, Montgomery 3b (`native/__init__.py::_consts`). Both kernels check
// every shape (inputs and result) and that every input coordinate is < p (the call fails naming the
// lane). The complete formulas (RCB Alg. 7 and 9) need no special cases for the identity.
//
// Build: with the other kernels (see __init__.py).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "field64.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using supervm::u64;

namespace {

constexpr int WINDOW = 4, TABLE = 1 << WINDOW;

// out = table[d] with every entry read (no data-dependent address or branch).
template <class Ops>
void select_entry(typename Ops::P& out, const typename Ops::P* table, int d) {
  using P = typename Ops::P;
  constexpr int WORDS = sizeof(P) / sizeof(u64);
  u64* o = reinterpret_cast<u64*>(&out);
  std::memset(o, 0, sizeof(P));
  for (int e = 0; e < TABLE; ++e) {
    const u64 mask = -(u64)(e == d);
    const u64* t = reinterpret_cast<const u64*>(&table[e]);
    for (int i = 0; i < WORDS; ++i) o[i] |= t[i] & mask;
  }
}

template <class Ops>
ffi::Error scalar_mul(const uint32_t* consts, const uint32_t* points, const bool* bits, int64_t nbits, int64_t n,
                      uint32_t* out) {
  using P = typename Ops::P;
  const Ops ops(consts);
  P table[TABLE], acc, sel;
  const int64_t first = nbits % WINDOW == 0 ? WINDOW : nbits % WINDOW;  // bits in the top window
  for (int64_t j = 0; j < n; ++j) {
    supervm::load_lane<Ops>(table[1], points, n, j);
    if (!ops.canonical(table[1]))
      return ffi::Error::InvalidArgument("scalar_mul: point " + std::to_string(j) + " has a coordinate >= p");
    ops.identity(table[0]);
    for (int e = 2; e < TABLE; ++e) ops.add(table[e], table[e - 1], table[1]);
    ops.identity(acc);
    for (int64_t i = 0; i < nbits;) {
      const int64_t width = i == 0 ? first : WINDOW;
      int d = 0;
      for (int64_t k = 0; k < width; ++k, ++i) {
        if (i >= first) ops.dbl(acc, acc);  // no doublings of the identity before the top window
        d = 2 * d + (bits[i * n + j] ? 1 : 0);
      }
      select_entry<Ops>(sel, table, d);
      ops.add(acc, acc, sel);
    }
    supervm::store_lane<Ops>(acc, out, n, j);
  }
  return ffi::Error::Success();
}

template <class Ops>
ffi::Error combine(const uint32_t* consts, const uint32_t* sums, int64_t D, int64_t B, int64_t W, int64_t c_bits,
                   uint32_t* out) {
  using P = typename Ops::P;
  const Ops ops(consts);
  const int64_t count = D * B * W;
  P acc, part;
  for (int64_t b = 0; b < B; ++b) {
    ops.identity(acc);
    for (int64_t w = W - 1; w >= 0; --w) {
      if (w < W - 1)
        for (int64_t k = 0; k < c_bits; ++k) ops.dbl(acc, acc);
      for (int64_t d = 0; d < D; ++d) {
        const int64_t lane = (d * B + b) * W + w;
        supervm::load_lane<Ops>(part, sums, count, lane);
        if (!ops.canonical(part))
          return ffi::Error::InvalidArgument("msm_combine: window sum " + std::to_string(lane) +
                                             " has a coordinate >= p");
        ops.add(acc, acc, part);
      }
    }
    supervm::store_lane<Ops>(acc, out, B, b);
  }
  return ffi::Error::Success();
}

// The (K = 3, L32, [2]) head of a limb-major point array, checked against n64 and degree.
ffi::Error check_head(ffi::Span<const int64_t> dims, int64_t n64, int64_t degree, size_t tail, const char* what) {
  if ((n64 != 4 && n64 != 6) || (degree != 1 && degree != 2))
    return ffi::Error::InvalidArgument(std::string(what) + ": unsupported limb count / extension degree");
  const size_t head = degree == 2 ? 3 : 2;
  if (dims.size() != head + tail || dims[0] != 3 || dims[1] != 2 * n64 || (degree == 2 && dims[2] != 2))
    return ffi::Error::InvalidArgument(std::string(what) + ": points must be (3, L32, [2,] ...) for the curve");
  return ffi::Error::Success();
}

#define SUPERVM_DISPATCH(FN, ...)                                                          \
  if (n64 == 4 && degree == 1) return FN<supervm::WeierstrassOps<4, 1>>(__VA_ARGS__);    \
  if (n64 == 4 && degree == 2) return FN<supervm::WeierstrassOps<4, 2>>(__VA_ARGS__);    \
  if (n64 == 6 && degree == 1) return FN<supervm::WeierstrassOps<6, 1>>(__VA_ARGS__);    \
  return FN<supervm::WeierstrassOps<6, 2>>(__VA_ARGS__);

// points (3, L32, [2,] n); bits (nbits, n) bool, most significant first. Output like points.
ffi::Error ScalarMulImpl(ffi::Buffer<ffi::U32> consts, ffi::Buffer<ffi::U32> points, ffi::Buffer<ffi::PRED> bits,
                         ffi::ResultBuffer<ffi::U32> result, int64_t n64, int64_t degree) {
  auto pd = points.dimensions();
  if (auto err = check_head(pd, n64, degree, 1, "scalar_mul"); err.failure()) return err;
  const int64_t n = pd[pd.size() - 1];
  auto bd = bits.dimensions();
  if (bd.size() != 2 || bd[1] != n) return ffi::Error::InvalidArgument("scalar_mul: bits must be (nbits, n)");
  if ((int64_t)consts.element_count() < 2 * (2 * n64 + 1 + degree * n64))
    return ffi::Error::InvalidArgument("scalar_mul: constants too short");
  auto rd = result->dimensions();
  if (!std::equal(pd.begin(), pd.end(), rd.begin(), rd.end()))
    return ffi::Error::InvalidArgument("scalar_mul: the result must have the points' shape");
  SUPERVM_DISPATCH(scalar_mul, consts.typed_data(), points.typed_data(), bits.typed_data(), bd[0], n,
                   result->typed_data())
}

// sums (3, L32, [2,] D, B, W) window sums (device partials d, instances b, windows w); output
// (3, L32, [2,] B).
ffi::Error CombineImpl(ffi::Buffer<ffi::U32> consts, ffi::Buffer<ffi::U32> sums, ffi::ResultBuffer<ffi::U32> result,
                       int64_t n64, int64_t degree, int64_t c_bits) {
  auto sd = sums.dimensions();
  if (auto err = check_head(sd, n64, degree, 3, "msm_combine"); err.failure()) return err;
  if (c_bits < 1 || c_bits > 24) return ffi::Error::InvalidArgument("msm_combine: c_bits out of range");
  if ((int64_t)consts.element_count() < 2 * (2 * n64 + 1 + degree * n64))
    return ffi::Error::InvalidArgument("msm_combine: constants too short");
  const size_t k = sd.size();
  auto rd = result->dimensions();
  if (rd.size() != k - 2 || !std::equal(sd.begin(), sd.begin() + (k - 3), rd.begin()) || rd[k - 3] != sd[k - 2])
    return ffi::Error::InvalidArgument("msm_combine: the result must be (3, L32, [2,] B) for sums (3, L32, [2,] D, B, W)");
  SUPERVM_DISPATCH(combine, consts.typed_data(), sums.typed_data(), sd[k - 3], sd[k - 2], sd[k - 1], c_bits,
                   result->typed_data())
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SupervmScalarMul, ScalarMulImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()   // consts
                                  .Arg<ffi::Buffer<ffi::U32>>()   // points (3, L32, [2,] n)
                                  .Arg<ffi::Buffer<ffi::PRED>>()  // bits (nbits, n), MSB first
                                  .Ret<ffi::Buffer<ffi::U32>>()   // k P (3, L32, [2,] n)
                                  .Attr<int64_t>("n64")
                                  .Attr<int64_t>("degree"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(SupervmMsmCombine, CombineImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()  // consts
                                  .Arg<ffi::Buffer<ffi::U32>>()  // window sums (3, L32, [2,] D, B, W)
                                  .Ret<ffi::Buffer<ffi::U32>>()  // (3, L32, [2,] B)
                                  .Attr<int64_t>("n64")
                                  .Attr<int64_t>("degree")
                                  .Attr<int64_t>("c_bits"));
