"""Where webhooks may go: public addresses only (unless allowed), checked against every range of
IANA's IPv4 and IPv6 special-purpose registries that is not globally reachable, and against IPv6
forms that carry such an IPv4 address inside (mapped, 6to4, Teredo, NAT64, IPv4-compatible).

Hosts here are address literals, which resolve to themselves without DNS."""

import ipaddress

import pytest

from crm_api.webhooks.delivery import RefusedDestination, check_destination

# IANA IPv4 special-purpose registry, ranges not globally reachable (one address of each).
NOT_GLOBAL_IPV4 = [
    "0.0.0.1",  # 0.0.0.0/8 this network
    "10.1.2.3",  # 10.0.0.0/8 private
    "100.64.0.1",  # 100.64.0.0/10 shared address space
    "127.0.0.1",  # 127.0.0.0/8 loopback
    "169.254.169.254",  # 169.254.0.0/16 link local (cloud metadata)
    "172.16.0.1",  # 172.16.0.0/12 private
    "192.0.0.1",  # 192.0.0.0/24 IETF protocol assignments
    "192.0.2.1",  # 192.0.2.0/24 documentation
    "192.88.99.1",  # 192.88.99.0/24 deprecated 6to4 relay anycast
    "192.168.1.1",  # 192.168.0.0/16 private
    "198.18.0.1",  # 198.18.0.0/15 benchmarking
    "198.51.100.1",  # 198.51.100.0/24 documentation
    "203.0.113.1",  # 203.0.113.0/24 documentation
    "240.0.0.1",  # 240.0.0.0/4 reserved
    "255.255.255.255",  # limited broadcast
    "224.0.0.1",  # multicast
]
# IANA IPv6 special-purpose registry, ranges not globally reachable.
NOT_GLOBAL_IPV6 = [
    "::1",  # loopback
    "::",  # unspecified
    "::ffff:0:1",  # ::ffff:0:0/96 IPv4-mapped
    "64:ff9b:1::1",  # 64:ff9b:1::/48 local-use IPv4/IPv6 translation
    "100::1",  # 100::/64 discard-only
    "2001:2::1",  # 2001:2::/48 benchmarking
    "2001:db8::1",  # 2001:db8::/32 documentation
    "3fff::1",  # 3fff::/20 documentation
    "5f00::1",  # 5f00::/16 segment routing SIDs
    "fc00::1",  # fc00::/7 unique local
    "fe80::1",  # fe80::/10 link local
    "ff02::1",  # multicast
]
PUBLIC_IPV4 = "8.8.8.8"


def carrying(ipv4: str) -> list[str]:
    """IPv6 forms that deliver to ``ipv4``."""
    value = int(ipaddress.IPv4Address(ipv4))
    teredo_client = value ^ 0xFFFFFFFF
    return [
        f"::ffff:{ipv4}",  # IPv4-mapped
        str(ipaddress.IPv6Address((0x2002 << 112) | (value << 80))),  # 6to4
        str(ipaddress.IPv6Address((0x20010000 << 96) | (value << 64) | teredo_client)),  # Teredo
        str(ipaddress.IPv6Address((0x64FF9B << 96) | value)),  # NAT64, well-known prefix
        str(ipaddress.IPv6Address((0x64FF9B0001 << 80) | value)),  # NAT64, local-use prefix
        str(ipaddress.IPv6Address(value)),  # IPv4-compatible ::a.b.c.d
    ]


def _url(address: str) -> str:
    literal = f"[{address}]" if ":" in address else address
    return f"https://{literal}/hooks"


@pytest.mark.parametrize("address", NOT_GLOBAL_IPV4 + NOT_GLOBAL_IPV6)
async def test_special_purpose_addresses_are_refused(address: str) -> None:
    with pytest.raises(RefusedDestination, match="non-public"):
        await check_destination(_url(address), [])


@pytest.mark.parametrize(
    "address",
    [form for ipv4 in NOT_GLOBAL_IPV4 for form in carrying(ipv4)],
)
async def test_ipv6_forms_carrying_a_special_ipv4_address_are_refused(address: str) -> None:
    with pytest.raises(RefusedDestination, match="non-public"):
        await check_destination(_url(address), [])


@pytest.mark.parametrize(
    "address",
    # The forms of a public IPv4 address outside ranges refused for themselves (mapped and
    # deprecated compatible forms in ::/96, Teredo in 2001::/23, local-use NAT64).
    [PUBLIC_IPV4, "2606:4700:4700::1111"]
    + [
        form
        for form in carrying(PUBLIC_IPV4)
        if not form.startswith(("::", "2001:0:", "64:ff9b:1:"))
    ],
)
async def test_public_addresses_pass(address: str) -> None:
    assert await check_destination(_url(address), []) == address


async def test_an_allowed_network_lets_its_addresses_through() -> None:
    assert await check_destination(_url("127.0.0.1"), ["127.0.0.0/8"]) == "127.0.0.1"
    with pytest.raises(RefusedDestination):
        await check_destination(_url("10.0.0.1"), ["127.0.0.0/8"])
