import assert from "node:assert/strict";
import { addressGroup, canonicalAddress, isLoopback } from "./address.ts";

Deno.test("canonicalAddress() lowers case, drops a zone and unmaps IPv4-mapped IPv6", () => {
  assert.equal(canonicalAddress("FD00::A"), "fd00::a");
  assert.equal(canonicalAddress("fe80::1%eth0"), "fe80::1");
  assert.equal(canonicalAddress("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(canonicalAddress("::FFFF:127.0.0.1"), "127.0.0.1");
  assert.equal(canonicalAddress("10.0.0.1"), "10.0.0.1");
  assert.equal(isLoopback(canonicalAddress("::ffff:127.0.0.2")), true);
  assert.equal(isLoopback("::1"), true);
  assert.equal(isLoopback("fd00::1"), false);
});

Deno.test("addressGroup() is an IPv6 address's prefix and an IPv4 address itself", () => {
  assert.equal(addressGroup("2001:db8:0:7:a::1"), "2001:db8:0:7::/64");
  assert.equal(addressGroup("2001:0db8:0000:0007:ffff:ffff:ffff:ffff"), "2001:db8:0:7::/64");
  assert.equal(addressGroup("2001:db8::"), "2001:db8:0:0::/64");
  assert.equal(addressGroup("::"), "0:0:0:0::/64");
  assert.equal(addressGroup("64:ff9b::192.0.2.33"), "64:ff9b:0:0::/64");
  assert.equal(addressGroup("fe80::1%eth0"), "fe80:0:0:0::/64");
  assert.equal(addressGroup("2001:db8:0:7:a::1", 56), "2001:db8:0:0::/56");
  assert.equal(addressGroup("2001:db8:0:1ff:a::1", 56), "2001:db8:0:100::/56");
  assert.equal(addressGroup("2001:db8:abcd:7::1", 36), "2001:db8:a000::/36");
  assert.equal(addressGroup("2001:db8:0:7:a::1", 128), "2001:db8:0:7:a::1");
  // an IPv4 client of a dual-stack socket counts with the same client over IPv4
  assert.equal(addressGroup("::ffff:198.51.100.7"), "198.51.100.7");
  assert.equal(addressGroup("198.51.100.7"), "198.51.100.7");
  assert.equal(addressGroup("not an address"), "not an address");
});
