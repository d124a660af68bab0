//! Where provider calls may go: the destination policy behind `providers.allowed_hosts`.
//!
//! An org admin chooses a key's `base_url`/`endpoint`, so without a policy gavel would call, with its own network
//! position, whatever address an admin names: cloud metadata services, gavel's own API, services on the loopback or
//! the private network. The policy sorts every address into three classes:
//!
//! - **never**: link-local (which holds the cloud metadata services), the other known metadata addresses,
//!   unspecified, broadcast, multicast and reserved addresses, and gavel's own listen address. No configuration
//!   opens them: a metadata service answers whoever asks, and listing `169.254.0.0/16` by mistake must not open it.
//! - **listed only**: loopback and the private, shared (CGNAT) and unique-local ranges, reachable only when
//!   `providers.allowed_hosts` names the host, its address or a range holding it (an air-gapped site lists its vLLM
//!   host).
//! - **public**: everything else, allowed by default.
//!
//! The check runs twice: when a key is created or patched ([`DestinationPolicy::check_url_resolving`], so the admin
//! hears at once), and at every connection ([`PolicyResolver`], after DNS resolution, so a name that resolves, or
//! later re-resolves, to a refused address is refused too). IP-literal URLs never reach a resolver, so callers check
//! them before sending ([`DestinationPolicy::check_url`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// The configuration key that lists what is allowed, named in every refusal.
pub const CONFIG_KEY: &str = "providers.allowed_hosts";
/// How long a key creation waits for DNS when it checks a host name; a slow resolver must not hold the request.
const CHECK_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// Metadata services that do not live in link-local space (those in 169.254.0.0/16 and fe80::/10 are covered by
/// the link-local rule): Alibaba Cloud, Azure's wire server, Oracle Cloud's legacy address, AWS's IPv6 IMDS.
const METADATA: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
];

/// What a host pattern in `providers.allowed_hosts` matches.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// A host name, lower-case, no trailing dot; `*.corp.example` matches every name below `corp.example`.
    Name(String),
    /// An address or a range.
    Net(IpNet),
}

/// One entry of `providers.allowed_hosts`: a host name, address or CIDR range, optionally with a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowEntry {
    pattern: Pattern,
    port: Option<u16>,
}

impl AllowEntry {
    /// Parses `vllm.internal`, `vllm.internal:8000`, `*.corp.example`, `10.0.0.5`, `10.0.0.0/8`, `10.0.0.0/8:8000`,
    /// `fd12::1`, `fd12::/16`, `[fd12::1]:8000`, `[fd12::/16]:8000`.
    pub fn parse(text: &str) -> Result<AllowEntry, String> {
        let t = text.trim().to_ascii_lowercase();
        let bad = |why: &str| Err(format!("{text:?} is not a host, address or CIDR range ({why})"));
        if t.is_empty() {
            return bad("empty");
        }
        if let Some(rest) = t.strip_prefix('[') {
            let Some((inner, after)) = rest.split_once(']') else { return bad("no closing ]") };
            let port = match after {
                "" => None,
                p => match p.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()) {
                    Some(port) if port > 0 => Some(port),
                    _ => return bad("bad port"),
                },
            };
            return match net(inner) {
                Some(n) if n.addr().is_ipv6() => Ok(AllowEntry { pattern: Pattern::Net(n), port }),
                _ => bad("brackets hold an IPv6 address or range"),
            };
        }
        if let Some(n) = net(&t) {
            return Ok(AllowEntry { pattern: Pattern::Net(n), port: None });
        }
        let (host, port) = match t.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(port) if port > 0 => (h, Some(port)),
                _ => return bad("bad port"),
            },
            None => (t.as_str(), None),
        };
        if let Some(n) = net(host) {
            return Ok(AllowEntry { pattern: Pattern::Net(n), port });
        }
        let name = host.trim_end_matches('.');
        let labels = name.strip_prefix("*.").unwrap_or(name);
        let valid = !labels.is_empty()
            && labels.len() <= 253
            && labels
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !valid {
            return bad("host names are letters, digits, '-' and '.', optionally starting with *.");
        }
        Ok(AllowEntry { pattern: Pattern::Name(name.to_owned()), port })
    }

    fn matches_port(&self, port: Option<u16>) -> bool {
        match (self.port, port) {
            (Some(want), Some(got)) => want == got,
            _ => true,
        }
    }

    fn matches_name(&self, name: &str) -> bool {
        match &self.pattern {
            Pattern::Name(p) => match p.strip_prefix("*.") {
                Some(suffix) => name.len() > suffix.len() + 1 && name.ends_with(&format!(".{suffix}")),
                None => p == name,
            },
            Pattern::Net(_) => false,
        }
    }
}

/// An address, or a range in CIDR notation.
fn net(text: &str) -> Option<IpNet> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(IpNet::from(ip));
    }
    text.parse::<IpNet>().ok().map(|n| n.trunc())
}

/// Why an address may not be called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Never callable, whatever is listed; the text says what it is.
    Never(&'static str),
    /// Callable only when listed.
    Listed(&'static str),
    Public,
}

/// IPv4 inside IPv6 (mapped `::ffff:a.b.c.d` and NAT64 `64:ff9b::a.b.c.d`) is judged as the IPv4 address it
/// reaches, so `::ffff:169.254.169.254` is the metadata service too.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            ip
        }
        v4 => v4,
    }
}

fn in_net(ip: IpAddr, cidr: &str) -> bool {
    cidr.parse::<IpNet>().is_ok_and(|n| n.contains(&ip))
}

fn classify(ip: IpAddr) -> Class {
    if METADATA.contains(&ip) {
        return Class::Never("a cloud metadata address");
    }
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if o[0] == 0 {
                Class::Never("an unspecified address")
            } else if v4.is_link_local() {
                Class::Never("a link-local address (cloud metadata services live there)")
            } else if v4.is_broadcast() || v4.is_multicast() || o[0] >= 240 {
                Class::Never("a broadcast, multicast or reserved address")
            } else if v4.is_loopback() {
                Class::Listed("a loopback address")
            } else if v4.is_private()
                || ["100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15"].iter().any(|c| in_net(ip, c))
            {
                Class::Listed("a private address")
            } else {
                Class::Public
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_unspecified() {
                Class::Never("an unspecified address")
            } else if in_net(ip, "fe80::/10") {
                Class::Never("a link-local address (cloud metadata services live there)")
            } else if v6.is_multicast() {
                Class::Never("a multicast address")
            } else if v6.is_loopback() {
                Class::Listed("a loopback address")
            } else if in_net(ip, "fc00::/7") || in_net(ip, "fec0::/10") {
                Class::Listed("a private address")
            } else {
                Class::Public
            }
        }
    }
}

/// A destination the policy refuses; its text is safe to show (it holds no secret) and names the config key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The destination policy: what `providers.allowed_hosts` lists plus gavel's own addresses.
#[derive(Clone, Debug, Default)]
pub struct DestinationPolicy {
    allowed: Vec<AllowEntry>,
    /// gavel's own listen addresses; an unspecified address stands for every local one.
    own: Vec<SocketAddr>,
    /// Host names that reach gavel itself (the host of `server.public_url`), with their port.
    own_names: Vec<(String, u16)>,
}

impl DestinationPolicy {
    /// Builds the policy from `providers.allowed_hosts`; fails with the first entry that does not parse.
    pub fn new(allowed_hosts: &[String]) -> Result<DestinationPolicy, String> {
        let allowed = allowed_hosts
            .iter()
            .map(|h| AllowEntry::parse(h).map_err(|e| format!("{CONFIG_KEY}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(DestinationPolicy { allowed, ..Default::default() })
    }

    /// Refuses gavel's own listen address (the bound one, so port 0 in tests is the real port) and, when set, the
    /// host of its public URL.
    pub fn with_own_address(mut self, listen: SocketAddr, public_url: &str) -> DestinationPolicy {
        self.own.push(listen);
        if let Ok(u) = url::Url::parse(public_url) {
            if let (Some(url::Host::Domain(d)), Some(port)) = (u.host(), u.port_or_known_default()) {
                self.own_names.push((d.trim_end_matches('.').to_ascii_lowercase(), port));
            }
        }
        self
    }

    /// The command line's own judge calls (`gavel eval --local`): the person running it is the operator, so their
    /// loopback and private network are theirs to call; metadata and link-local addresses stay refused.
    pub fn local_operator() -> DestinationPolicy {
        let ranges = ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];
        let allowed = ranges.iter().filter_map(|r| AllowEntry::parse(r).ok()).collect();
        DestinationPolicy { allowed, ..Default::default() }
    }

    fn is_own(&self, ip: IpAddr, port: u16) -> bool {
        self.own.iter().any(|own| {
            own.port() == port && (canonical(own.ip()) == ip || (own.ip().is_unspecified() && ip.is_loopback()))
        })
    }

    /// Checks one address. `port` is `None` at connection time (a resolver is not told the port; the port rules
    /// were checked on the URL before sending); `name` is the host name the address was found for.
    pub fn check_ip(&self, ip: IpAddr, port: Option<u16>, name: Option<&str>) -> Result<(), Refused> {
        let ip = canonical(ip);
        let shown = match name {
            Some(n) => format!("{n} ({ip})"),
            None => ip.to_string(),
        };
        let class = classify(ip);
        if let Class::Never(what) = class {
            return Err(Refused(format!(
                "the destination policy refused {shown}: it is {what}, which is never allowed, even when listed in {CONFIG_KEY}"
            )));
        }
        if port.is_some_and(|p| self.is_own(ip, p)) {
            return Err(Refused(format!(
                "the destination policy refused {shown}: it is gavel's own listen address, which is never allowed"
            )));
        }
        let Class::Listed(what) = class else { return Ok(()) };
        let listed = self.allowed.iter().any(|e| {
            e.matches_port(port)
                && match &e.pattern {
                    Pattern::Net(n) => n.contains(&ip),
                    Pattern::Name(_) => name.is_some_and(|n| e.matches_name(n)),
                }
        });
        if listed {
            return Ok(());
        }
        Err(Refused(format!(
            "the destination policy refused {shown}: it is {what}, allowed only when listed in {CONFIG_KEY}"
        )))
    }

    /// Checks what can be known without DNS: an IP-literal host in full, `localhost` names as the loopback they
    /// are, and the host of gavel's own public URL. Callers run it before every request.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refused> {
        let port = url.port_or_known_default();
        match url.host() {
            Some(url::Host::Ipv4(v4)) => self.check_ip(IpAddr::V4(v4), port, None),
            Some(url::Host::Ipv6(v6)) => self.check_ip(IpAddr::V6(v6), port, None),
            Some(url::Host::Domain(d)) => {
                let name = d.trim_end_matches('.').to_ascii_lowercase();
                if port.is_some_and(|p| self.own_names.iter().any(|(n, op)| *n == name && *op == p)) {
                    return Err(Refused(format!(
                        "the destination policy refused {name}: it is gavel's own public URL, which is never allowed"
                    )));
                }
                if name == "localhost" || name.ends_with(".localhost") {
                    self.check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST), port, Some(&name))?;
                }
                Ok(())
            }
            None => Err(Refused("the destination policy refused a URL without a host".into())),
        }
    }

    /// Whether names need resolving before a request for the port rules to hold: only when some entry is limited
    /// to a port, or gavel's own address lies in what is allowed (loopback listed, say). In the default
    /// configuration neither holds and no call pays for a second lookup.
    fn port_rules_need_dns(&self) -> bool {
        self.allowed.iter().any(|e| e.port.is_some())
            || self.own.iter().any(|own| {
                let ip = canonical(own.ip());
                let reached = if ip.is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { ip };
                self.check_ip(reached, None, None).is_ok()
            })
    }

    /// [`check_url`](Self::check_url), then for a host name every address it resolves to must be allowed (with
    /// the URL's port). A name that does not resolve passes: the connection will fail on its own, and a later
    /// resolution is checked by the [`PolicyResolver`] anyway. `always_resolve` is for key creation, where the
    /// admin should hear at once; calls resolve only when port rules need it.
    pub async fn check_url_resolving(&self, url: &url::Url, always_resolve: bool) -> Result<(), Refused> {
        self.check_url(url)?;
        let (Some(url::Host::Domain(d)), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return Ok(());
        };
        if !always_resolve && !self.port_rules_need_dns() {
            return Ok(());
        }
        let name = d.trim_end_matches('.').to_ascii_lowercase();
        let lookup = tokio::time::timeout(CHECK_LOOKUP_TIMEOUT, tokio::net::lookup_host((name.as_str(), port))).await;
        let Ok(Ok(addrs)) = lookup else { return Ok(()) };
        for addr in addrs {
            self.check_ip(addr.ip(), Some(port), Some(&name))?;
        }
        Ok(())
    }
}

/// The DNS resolver of every provider client: the system's resolver, with the answers the policy refuses removed.
/// A name left with no address fails to connect with the policy's reason, which the caller reports as
/// `BYOK_ENDPOINT_UNREACHABLE`.
#[derive(Clone, Debug)]
pub struct PolicyResolver {
    policy: Arc<DestinationPolicy>,
}

impl PolicyResolver {
    pub fn new(policy: Arc<DestinationPolicy>) -> PolicyResolver {
        PolicyResolver { policy }
    }
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut first_refusal = None;
            let mut allowed = Vec::with_capacity(found.len());
            for addr in found {
                match policy.check_ip(addr.ip(), None, Some(&host)) {
                    Ok(()) => allowed.push(addr),
                    Err(r) => {
                        first_refusal.get_or_insert(r);
                    }
                }
            }
            if allowed.is_empty() {
                if let Some(r) = first_refusal {
                    return Err(Box::new(r) as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
#[path = "tests_destination.rs"]
mod tests;
