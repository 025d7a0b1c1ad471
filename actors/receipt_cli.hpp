#pragma once

// `paysync receipt-key` prints the switch's receipt-signing public key;
// `paysync verify-receipt` checks receipts offline against it (issue 7).
namespace paysync::actors {

// argv[0] is "receipt-key".
int run_receipt_key_cli(int argc, char** argv);
// argv[0] is "verify-receipt".
int run_verify_receipt_cli(int argc, char** argv);

}  // namespace paysync::actors
