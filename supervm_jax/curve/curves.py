"""The curves supervm_jax supports: parameter objects only (the algorithms live in `weierstrass.py`).

Constants are the published ones (EIP-196/197 for BN254, the IETF pairing-friendly-curves draft and
ZCash for BLS12-381, SEC 2 for secp256k1, RFC 8032 for ed25519); the tests cross-check every one against py_ecc.
"""

from supervm_jax.curve.coords import ExtCoords, PrimeCoords
from supervm_jax.curve.edwards import TwistedEdwards
from supervm_jax.curve.glv import Endomorphism
from supervm_jax.curve.subgroup import phi_test, psi_test
from supervm_jax.curve.weierstrass import ShortWeierstrass
from supervm_jax.field import (
    BLS12_381_FQ,
    BLS12_381_FR,
    BN254_FQ,
    BN254_FR,
    ED25519_FN,
    ED25519_FP,
    SECP256K1_FN,
    SECP256K1_FP,
)
from supervm_jax.field.fq2 import BLS12_381_FQ2, BN254_FQ2

BN254_G1 = ShortWeierstrass(
    "BN254_G1", PrimeCoords(BN254_FQ), a=0, b=3, order=BN254_FR.modulus, generator=(1, 2),
    scalar_field=BN254_FR, cofactor_is_one=True, py_ecc=("py_ecc.optimized_bn128", "optimized"),
)

BN254_G2 = ShortWeierstrass(
    "BN254_G2", ExtCoords(BN254_FQ2), a=(0, 0),
    # b' = 3 / (9 + u)
    b=(0x2B149D40CEB8AAAE81BE18991BE06AC3B5B4C5E559DBEFA33267E6DC24A138E5,
       0x009713B03AF0FED4CD2CAFADEED8FDF4A74FA084E52D1852E4A2BD0685C315D2),
    order=BN254_FR.modulus,
    generator=(
        (0x1800DEEF121F1E76426A00665E5C4479674322D4F75EDADD46DEBD5CD992F6ED,
         0x198E9393920D483A7260BFB731FB5D25F1AA493335A9E71297E485B7AEF312C2),
        (0x12C85EA5DB8C6DEB4AAB71808DCB408FE3D1E7690C43D37B4CE6CC0166FA7DAA,
         0x090689D0585FF075EC9E99AD690C3395BC4B313370B38EF355ACDADCD122975B),
    ),
    scalar_field=BN254_FR, cofactor_is_one=False, py_ecc=("py_ecc.optimized_bn128", "optimized"),
)

BLS12_381_G1 = ShortWeierstrass(
    "BLS12_381_G1", PrimeCoords(BLS12_381_FQ), a=0, b=4, order=BLS12_381_FR.modulus,
    generator=(
        0x17F1D3A73197D7942695638C4FA9AC0FC3688C4F9774B905A14E3A3F171BAC586C55E83FF97A1AEFFB3AF00ADB22C6BB,
        0x08B3F481E3AAA0F1A09E30ED741D8AE4FCF5E095D5D00AF600DB18CB2C04B3EDD03CC744A2888AE40CAA232946C5E7E1,
    ),
    scalar_field=BLS12_381_FR, cofactor_is_one=False, encoding="zcash",
    py_ecc=("py_ecc.optimized_bls12_381", "optimized"),
)

BLS12_381_G2 = ShortWeierstrass(
    "BLS12_381_G2", ExtCoords(BLS12_381_FQ2), a=(0, 0), b=(4, 4), order=BLS12_381_FR.modulus,
    generator=(
        (0x024AA2B2F08F0A91260805272DC51051C6E47AD4FA403B02B4510B647AE3D1770BAC0326A805BBEFD48056C8C121BDB8,
         0x13E02B6052719F607DACD3A088274F65596BD0D09920B61AB5DA61BBDC7F5049334CF11213945D57E5AC7D055D042B7E),
        (0x0CE5D527727D6E118CC9CDC6DA2E351AADFD9BAA8CBDD3A76D429A695160D12C923AC9CC3BACA289E193548608B82801,
         0x0606C4A02EA734CC32ACD2B02BC28B99CB3E287E85A763AF267492AB572E99AB3F370D275CEC1DA1AAA9075FF05F79BE),
    ),
    scalar_field=BLS12_381_FR, cofactor_is_one=False, encoding="zcash",
    py_ecc=("py_ecc.optimized_bls12_381", "optimized"),
)

# Subgroup tests by endomorphisms (curve/subgroup.py): 64- and 128-bit scalars instead of r.
_BN_U, _BLS_U = 4965661367192848881, -0xD201000000010000
BN254_G2.subgroup_test = psi_test(BN254_G2.coords, "bn_g2", _BN_U, twist="D")
BLS12_381_G2.subgroup_test = psi_test(BLS12_381_G2.coords, "bls12_g2", _BLS_U, twist="M")
BLS12_381_G1.subgroup_test = phi_test(  # the square of EIP-2537's cube root of unity (phi = [-u^2] on G1)
    BLS12_381_G1.coords, _BLS_U, 0x5F19672FDF76CE51BA69C6076A0F77EADDB3A93BE6F89688DE17D813620A00022E01FFFFFFFEFFFE)

SECP256K1 = ShortWeierstrass(
    "SECP256K1", PrimeCoords(SECP256K1_FP), a=0, b=7, order=SECP256K1_FN.modulus,
    generator=(0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
               0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8),
    scalar_field=SECP256K1_FN, cofactor_is_one=True, py_ecc=("py_ecc.secp256k1.secp256k1", "affine"),
)
# phi(x, y) = (beta x, y) = [lambda] (x, y): the cube roots of unity libsecp256k1 uses
SECP256K1.endomorphism = Endomorphism(
    beta=0x7AE96A2B657C07106E64479EAC3434E99CF0497512F58995C1396C28719501EE,
    lam=0x5363AD4CC05C30E0A5261C028812645A122E22EA20816678DF02967C1B23BD72,
    order=SECP256K1_FN.modulus,
)

# edwards25519 (RFC 8032, section 5.1): d = -121665 / 121666, base point B with y = 4/5, x even.
ED25519 = TwistedEdwards(
    "ED25519", PrimeCoords(ED25519_FP), a=-1,
    d=0x52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3,
    order=ED25519_FN.modulus, cofactor=8,
    generator=(0x216936D3CD6E53FEC0A4E231FDD6DC5C692CC7609525A7B2C9562D608F25D51A,
               0x6666666666666666666666666666666666666666666666666666666666666658),
    scalar_field=ED25519_FN,
)

ALL_CURVES = (BN254_G1, BN254_G2, BLS12_381_G1, BLS12_381_G2, SECP256K1)  # the short-Weierstrass groups
