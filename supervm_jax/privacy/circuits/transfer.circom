pragma circom 2.1.0;

// Private transfer: a join-split over a Poseidon note tree (BN254, circomlib Poseidon).
// Modelled on the 2-in-2-out transaction of Tornado Cash Nova; written for supervm_jax.
//
// Statement. The prover knows nIns input notes and nOuts output notes such that
//   * every input note with a nonzero amount is a leaf of the depth-`levels` Merkle tree
//     whose root is `root`, and the prover owns it (knows the private key behind its public key);
//   * `input_nullifier[i]` is the nullifier of input note i (so a note can be spent once);
//   * `output_commitment[j]` is the commitment of output note j;
//   * the input nullifiers differ pairwise (one note cannot be spent twice in one transfer);
//   * every amount lies in [0, 2^64);
//   * sum(in_amount) + public_amount == sum(out_amount) in the field, where public_amount is a
//     deposit (x > 0), zero (a pure transfer) or a withdrawal (r - x, i.e. -x mod r);
//   * `ext_data_hash` (a hash of data outside the circuit: recipient, relayer, fee, ...) is
//     bound into the proof; the circuit does not look at it.
//
// Public signals, in the order snarkjs lists them (public inputs in declaration order; the
// main component has no outputs):
//   root, public_amount, ext_data_hash,
//   input_nullifier[0..nIns-1], output_commitment[0..nOuts-1]
// For Transfer(20, 2, 2): 7 public signals.
//
// Private inputs: in_amount[nIns], in_private_key[nIns], in_blinding[nIns],
//   in_path_index[nIns] (the leaf index as a number, < 2^levels),
//   in_path_elements[nIns][levels] (sibling of the path node at each level, leaf level first),
//   out_amount[nOuts], out_public_key[nOuts], out_blinding[nOuts].
//
// Semantics (P_k = circomlib Poseidon(k) over BN254):
//   public_key  = P_1(private_key)
//   commitment  = P_3(amount, public_key, blinding)               (inputs and outputs alike)
//   signature   = P_3(private_key, commitment, path_index)
//   nullifier   = P_3(commitment, path_index, signature)
//   Merkle path: bits = Num2Bits(levels)(path_index); bit l = 1 means the path node at level l
//     is the RIGHT child; parent = P_2(left, right); the leaf is the commitment. The computed
//     root must equal `root` only if the input amount is nonzero (ForceEqualIfEnabled), so
//     zero-amount dummy inputs need no valid path. Empty leaves are 0 and an empty subtree at
//     level l+1 is P_2(z_l, z_l) with z_0 = 0.
//   Range: Num2Bits(64) of every input and output amount.

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

// Root of the Merkle path from `leaf` at index `index` (levels bits) with siblings `siblings`.
template PathRoot(levels) {
    signal input leaf;
    signal input index;
    signal input siblings[levels];
    signal output root;

    component bits = Num2Bits(levels);
    bits.in <== index;

    component hash[levels];
    signal node[levels + 1];
    signal swap[levels];
    node[0] <== leaf;
    for (var l = 0; l < levels; l++) {
        // bit = 0: (left, right) = (node, sibling); bit = 1: (sibling, node).
        swap[l] <== bits.out[l] * (siblings[l] - node[l]);
        hash[l] = Poseidon(2);
        hash[l].inputs[0] <== node[l] + swap[l];
        hash[l].inputs[1] <== siblings[l] - swap[l];
        node[l + 1] <== hash[l].out;
    }
    root <== node[levels];
}

template Transfer(levels, nIns, nOuts) {
    // ---- public inputs (this declaration order is the public-signal order) ----
    signal input root;
    signal input public_amount;
    signal input ext_data_hash;
    signal input input_nullifier[nIns];
    signal input output_commitment[nOuts];

    // ---- private inputs ----
    signal input in_amount[nIns];
    signal input in_private_key[nIns];
    signal input in_blinding[nIns];
    signal input in_path_index[nIns];
    signal input in_path_elements[nIns][levels];
    signal input out_amount[nOuts];
    signal input out_public_key[nOuts];
    signal input out_blinding[nOuts];

    component in_public_key[nIns];
    component in_commitment[nIns];
    component in_signature[nIns];
    component in_nullifier[nIns];
    component in_path[nIns];
    component in_root_check[nIns];
    component in_range[nIns];

    var sum_in = 0;
    for (var i = 0; i < nIns; i++) {
        in_public_key[i] = Poseidon(1);
        in_public_key[i].inputs[0] <== in_private_key[i];

        in_commitment[i] = Poseidon(3);
        in_commitment[i].inputs[0] <== in_amount[i];
        in_commitment[i].inputs[1] <== in_public_key[i].out;
        in_commitment[i].inputs[2] <== in_blinding[i];

        in_signature[i] = Poseidon(3);
        in_signature[i].inputs[0] <== in_private_key[i];
        in_signature[i].inputs[1] <== in_commitment[i].out;
        in_signature[i].inputs[2] <== in_path_index[i];

        in_nullifier[i] = Poseidon(3);
        in_nullifier[i].inputs[0] <== in_commitment[i].out;
        in_nullifier[i].inputs[1] <== in_path_index[i];
        in_nullifier[i].inputs[2] <== in_signature[i].out;
        in_nullifier[i].out === input_nullifier[i];

        // Num2Bits(levels) inside PathRoot also bounds in_path_index to [0, 2^levels).
        in_path[i] = PathRoot(levels);
        in_path[i].leaf <== in_commitment[i].out;
        in_path[i].index <== in_path_index[i];
        for (var l = 0; l < levels; l++) {
            in_path[i].siblings[l] <== in_path_elements[i][l];
        }

        // Membership is enforced only for nonzero amounts (dummy inputs carry amount 0).
        in_root_check[i] = ForceEqualIfEnabled();
        in_root_check[i].enabled <== in_amount[i];
        in_root_check[i].in[0] <== root;
        in_root_check[i].in[1] <== in_path[i].root;

        in_range[i] = Num2Bits(64);
        in_range[i].in <== in_amount[i];

        sum_in += in_amount[i];
    }

    component out_commitment[nOuts];
    component out_range[nOuts];

    var sum_out = 0;
    for (var j = 0; j < nOuts; j++) {
        out_commitment[j] = Poseidon(3);
        out_commitment[j].inputs[0] <== out_amount[j];
        out_commitment[j].inputs[1] <== out_public_key[j];
        out_commitment[j].inputs[2] <== out_blinding[j];
        out_commitment[j].out === output_commitment[j];

        out_range[j] = Num2Bits(64);
        out_range[j].in <== out_amount[j];

        sum_out += out_amount[j];
    }

    // No nullifier twice within one transfer.
    component same_nullifier[nIns * (nIns - 1) \ 2];
    var k = 0;
    for (var a = 0; a < nIns - 1; a++) {
        for (var b = a + 1; b < nIns; b++) {
            same_nullifier[k] = IsEqual();
            same_nullifier[k].in[0] <== input_nullifier[a];
            same_nullifier[k].in[1] <== input_nullifier[b];
            same_nullifier[k].out === 0;
            k++;
        }
    }

    // Value conservation (field arithmetic).
    sum_in + public_amount === sum_out;

    // Bind ext_data_hash into the proof (a public input that appears in no constraint could be
    // changed without invalidating the proof).
    signal ext_data_square <== ext_data_hash * ext_data_hash;
}

component main {public [root, public_amount, ext_data_hash, input_nullifier, output_commitment]} = Transfer(20, 2, 2);
