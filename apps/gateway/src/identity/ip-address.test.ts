import { describe, expect, it } from "vitest";
import { canonicalIpAddress, ipAddressFromBytes, ipAddressToBytes } from "./ip-address.ts";

describe("IP addresses", () => {
  it("writes addresses in one canonical form", () => {
    expect(canonicalIpAddress("127.0.0.1")).toBe("127.0.0.1");
    expect(canonicalIpAddress("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(canonicalIpAddress("2001:DB8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(canonicalIpAddress("::ffff:10.0.0.1")).toBe("::ffff:a00:1");
    expect(() => canonicalIpAddress("localhost")).toThrow('"localhost" is not an IP address');
  });

  it("converts to the bytes of an iPAddress SAN and back", () => {
    expect([...ipAddressToBytes("10.1.2.3")]).toEqual([10, 1, 2, 3]);
    expect([...ipAddressToBytes("::1")]).toEqual([...Array(15).fill(0), 1]);
    expect([...ipAddressToBytes("2001:db8::")]).toEqual([0x20, 0x01, 0x0d, 0xb8, ...Array(12).fill(0)]);
    for (const text of ["10.1.2.3", "::1", "::", "2001:db8::1:0:0:1", "fe80::1", "1:2:3:4:5:6:7:8"]) {
      expect(ipAddressFromBytes(ipAddressToBytes(text))).toBe(text);
    }
    expect(ipAddressFromBytes(new Uint8Array(5))).toBeUndefined();
  });
});
