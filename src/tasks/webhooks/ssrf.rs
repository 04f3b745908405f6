//! No server-side request forgery: which addresses a delivery may reach, and the HTTP client
//! that holds to it. Without WEBHOOK_ALLOW_PRIVATE a delivery goes only to an https URL whose
//! host resolves to public addresses: loopback, private, link-local (169.254.169.254, the
//! cloud metadata address, among them), unique-local, multicast, unspecified, documentation
//! and other special-use ranges are refused. The check is made on the addresses the client
//! connects to (its resolver drops refused ones, so a name that resolves to a public address
//! when created and to a private one when delivered, DNS rebinding, reaches nothing), and
//! redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether a delivery may connect to `ip` when private addresses are not allowed.
pub(super) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24; benchmarking, 198.18.0.0/15.
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

/// An IPv6 address is public as `Ipv6Addr::is_global` decides (RFC 6890 and the IANA
/// special-purpose registry), with one difference: NAT64's well-known prefix is judged by the
/// IPv4 address it carries, where a gateway forwards it (an IPv6-only host reaches every
/// IPv4 site through it, DNS64 giving its names such addresses).
fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // NAT64's well-known prefix 64:ff9b::/96 (RFC 6052): the IPv4 address in its last 32 bits.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = ip.octets();
        return public_v4(Ipv4Addr::new(a, b, c, d));
    }
    // Only global unicast (2000::/3) is routed on the internet: what lies outside it is
    // unspecified, loopback, IPv4-mapped or -compatible, the local-use NAT64 prefix
    // 64:ff9b:1::/48, discard-only 100::/64, unique-local, link-local, site-local, multicast
    // or not assigned at all.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    !(ietf_assignment(ip)
        // 6to4 (2002::/16) embeds an IPv4 address a relay forwards to: 2002:7f00:1:: is
        // 127.0.0.1's.
        || s[0] == 0x2002
        // Documentation: 2001:db8::/32 and 3fff::/20.
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x3fff && s[1] < 0x1000))
}

/// Within the IETF protocol assignments 2001::/23 (Teredo 2001::/32, which embeds an IPv4
/// address; benchmarking 2001:2::/48; ORCHIDv1 2001:10::/28; …), the ones not globally
/// reachable: all but PCP and TURN anycast, AMT, AS112-v6, ORCHIDv2 and drone tags, as
/// `is_global` has them.
fn ietf_assignment(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if s[0] != 0x2001 || s[1] >= 0x200 {
        return false;
    }
    let anycast = s[1] == 1 && s[2..7] == [0; 5] && (s[7] == 1 || s[7] == 2);
    let global =
        anycast || s[1] == 3 || (s[1] == 4 && s[2] == 0x112) || (0x20..=0x3f).contains(&s[1]);
    !global
}

/// The literal address of a URL's host, when it is one (`http://[::1]/`, `https://10.0.0.1/`).
pub(super) fn literal_address(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// Resolves names with the system's resolver, keeping public addresses only: the addresses
/// the client connects to are the ones checked.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if found.is_empty() {
                let refused = format!("{host} resolves to no public address");
                return Err(refused.into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The client deliveries are sent with: no redirects, `timeout` for the whole attempt, and,
/// unless `allow_private`, only public addresses (also for names, through [`PublicOnly`]).
pub(super) fn client(timeout: Duration, allow_private: bool) -> reqwest::Result<reqwest::Client> {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let builder = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("todo-api-webhooks/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if allow_private {
        builder.build()
    } else {
        builder
            .dns_resolver(Arc::new(PublicOnly))
            .https_only(true)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_every_special_range() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            // 6to4 of 127.0.0.1 and of a public address: a relay decides where they go.
            "2002:7f00:1::1",
            "2002:808:808::1",
            // Teredo, ORCHIDv1, benchmarking, documentation, discard-only.
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:10::1",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "100::1",
            // NAT64 of loopback and of the metadata address; its local-use prefix.
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::808:808",
            // IPv4-compatible (deprecated), site-local.
            "::127.0.0.1",
            "::8.8.8.8",
            "fec0::1",
        ] {
            assert!(
                !is_public(refused.parse().unwrap()),
                "{refused} let through"
            );
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "93.184.216.34",
            // NAT64 of a public address; the globally reachable IETF assignments.
            "64:ff9b::808:808",
            "2001:1::1",
            "2001:3::1",
            "2001:4:112::1",
            "2001:20::1",
            "2a00:1450:4001:81c::200e",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public} refused");
        }
    }
}
