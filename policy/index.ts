/**
 * The platform's policy pack: `pulumi preview --policy-pack policy --policy-pack-config
 * policy/config.<stack>.json`. Every rule is mandatory; the rules themselves are in rules.ts.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./rules";

new PolicyPack("vpn-enterprise", {
  description:
    "What every resource of the VPN Enterprise platform must hold: container hardening, pinned images, no credentials in env, the Docker socket for its readers only, ports and volume protection per stack.",
  enforcementLevel: "mandatory",
  policies: [...POLICIES],
});
