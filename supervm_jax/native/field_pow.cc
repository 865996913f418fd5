// Native CPU kernel: a_i^e per lane for one fixed exponent e, over a 256-bit prime field (the
// square roots of point decompression: e = (p - 5) / 8 on ed25519, (p + 1) / 4 on secp256k1).
// Reached from JAX through the XLA FFI; the JAX reference is `field/montgomery.py::pow_int`.
//
//   consts (uint32): p (8), -p^-1 mod 2^64 (2), Montgomery one (8), R^2 mod p (8), c = 2^256 mod p (2)
//   exponent (uint32): e as 8 little-endian limbs
//   a (8, n) uint32 limb-major Montgomery form -> out (8, n), the same layout.
// Left-to-right 4-bit fixed window: 256 squarings and at most 64 multiplies per lane, in the
// pseudo-Mersenne representation of field64.h (p = 2^256 - c, small c), converted from and back to
// Montgomery form at the edges.

#include <cstdint>
#include <cstring>

#include "field64.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using supervm::Field;
using supervm::u64;

namespace {

constexpr int N = 4;

ffi::Error FieldPowImpl(ffi::Buffer<ffi::U32> consts, ffi::Buffer<ffi::U32> exponent, ffi::Buffer<ffi::U32> a,
                        ffi::ResultBuffer<ffi::U32> out) {
  if (consts.element_count() != 6 * N + 4) return ffi::Error::InvalidArgument("field_pow: consts size");
  if (exponent.element_count() != 2 * N) return ffi::Error::InvalidArgument("field_pow: exponent must be 8 limbs");
  auto ad = a.dimensions();
  if (ad.size() != 2 || ad[0] != 2 * N) return ffi::Error::InvalidArgument("field_pow: a must be (8, n)");
  const int64_t n = ad[1];
  const uint32_t* c = consts.typed_data();
  auto word = [&](const uint32_t* src, int i) { return (u64)src[2 * i] | ((u64)src[2 * i + 1] << 32); };
  Field<N> mont;
  supervm::PseudoMersenne F;
  u64 e[N], r2[N];
  const u64 one[N] = {1, 0, 0, 0};
  for (int i = 0; i < N; ++i) mont.p[i] = word(c, i);
  mont.n0 = word(c, N);
  for (int i = 0; i < N; ++i) r2[i] = word(c, 2 * N + 1 + i);
  F.c = word(c, 3 * N + 1);
  for (int i = 0; i < N; ++i) e[i] = word(exponent.typed_data(), i);
  const uint32_t* src = a.typed_data();
  uint32_t* dst = out->typed_data();
  u64 table[16][N], acc[N];
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(table[0], one, sizeof(one));
    for (int w = 0; w < N; ++w) table[1][w] = (u64)src[(2 * w) * n + i] | ((u64)src[(2 * w + 1) * n + i] << 32);
    mont.mul(table[1], table[1], one);  // Montgomery -> standard form
    for (int k = 2; k < 16; ++k) F.mul(table[k], table[k - 1], table[1]);
    std::memcpy(acc, one, sizeof(one));
    for (int nib = 4 * N * 4 - 1; nib >= 0; --nib) {
      for (int k = 0; k < 4; ++k) F.mul(acc, acc, acc);
      const int d = (int)((e[nib / 16] >> (4 * (nib % 16))) & 15);
      if (d) F.mul(acc, acc, table[d]);
    }
    mont.mul(acc, acc, r2);  // standard -> Montgomery form, canonical
    for (int w = 0; w < N; ++w) {
      dst[(2 * w) * n + i] = (uint32_t)acc[w];
      dst[(2 * w + 1) * n + i] = (uint32_t)(acc[w] >> 32);
    }
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SupervmFieldPow, FieldPowImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::U32>>()  // consts
                                  .Arg<ffi::Buffer<ffi::U32>>()  // exponent limbs
                                  .Arg<ffi::Buffer<ffi::U32>>()  // a (8, n)
                                  .Ret<ffi::Buffer<ffi::U32>>());  // a^e (8, n)
