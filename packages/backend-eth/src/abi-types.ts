// The Perun struct ABI types live with the contracts that define the layout; re-exported here so
// backend-eth users keep importing them from one place.
export { AllocationT, ParamsT, StateT, WithdrawalAuthT } from "@perun-ts/contracts";
