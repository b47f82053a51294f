//! Just enough DER to print a certificate's subject as an RFC 4514 string
//! ("CN=localhost,O=Example"), the form `openssl x509 -nameopt RFC2253`
//! prints.

/// One DER element: (tag, content, rest of the input).
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

fn attribute_name(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x55, 0x04, 0x03] => "CN",
        [0x55, 0x04, 0x06] => "C",
        [0x55, 0x04, 0x07] => "L",
        [0x55, 0x04, 0x08] => "ST",
        [0x55, 0x04, 0x09] => "STREET",
        [0x55, 0x04, 0x0a] => "O",
        [0x55, 0x04, 0x0b] => "OU",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID",
        _ => return None,
    })
}

/// Dotted form of an OID, for attributes without a short name.
fn dotted(oid: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut value: u64 = 0;
    for (i, &b) in oid.iter().enumerate() {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() && i < oid.len() {
                let first = (value / 40).min(2);
                parts.push(first);
                parts.push(value - first * 40);
            } else {
                parts.push(value);
            }
            value = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// RFC 4514 escaping of an attribute value (NUL as `\00`, so the result
/// is a C string).
fn escape(value: &str, out: &mut String) {
    for (i, c) in value.chars().enumerate() {
        if c == '\0' {
            out.push_str("\\00");
            continue;
        }
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == value.chars().count() && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The subject of a DER certificate as an RFC 4514 string, or `None` if the
/// certificate cannot be read.
pub fn subject(cert: &[u8]) -> Option<String> {
    let (tag, certificate, _) = element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = element(certificate)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut fields = tbs;
    // version [0] EXPLICIT, optional
    if fields.first() == Some(&0xa0) {
        fields = element(fields)?.2;
    }
    // serialNumber, signature, issuer, validity, then subject
    for _ in 0..4 {
        fields = element(fields)?.2;
    }
    let (tag, mut name, _) = element(fields)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rdns = Vec::new();
    while !name.is_empty() {
        let (tag, mut set, rest) = element(name)?;
        if tag != SET {
            return None;
        }
        name = rest;
        let mut parts = Vec::new();
        while !set.is_empty() {
            let (tag, atv, rest) = element(set)?;
            if tag != SEQUENCE {
                return None;
            }
            set = rest;
            let (tag, oid, rest) = element(atv)?;
            if tag != OID {
                return None;
            }
            let (value_tag, value, _) = element(rest)?;
            let mut part = String::new();
            match attribute_name(oid) {
                Some(short) => part.push_str(short),
                None if oid == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => {
                    part.push_str("emailAddress")
                }
                None => part.push_str(&dotted(oid)),
            }
            part.push('=');
            match value_tag {
                // UTF8String, PrintableString, IA5String, TeletexString (as Latin-1 is rare; lossy)
                0x0c | 0x13 | 0x16 | 0x14 => escape(&String::from_utf8_lossy(value), &mut part),
                // BMPString: UTF-16BE
                0x1e => {
                    let units: Vec<u16> = value
                        .chunks_exact(2)
                        .map(|p| u16::from_be_bytes([p[0], p[1]]))
                        .collect();
                    escape(&String::from_utf16_lossy(&units), &mut part)
                }
                _ => {
                    part.push('#');
                    for b in value {
                        part.push_str(&format!("{b:02x}"));
                    }
                }
            }
            parts.push(part);
        }
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert_eq!(subject(&[]), None);
        assert_eq!(subject(&[0x30, 0x85, 0xff]), None);
        assert_eq!(subject(&[0x30, 0x03, 0x30, 0x01]), None);
    }

    #[test]
    fn random_and_cut_down_ders_are_none_or_text_never_a_panic() {
        let mut x: u64 = 0x1234_5678_9abc_def0;
        for round in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 200) as usize;
            let mut der: Vec<u8> = (0..len)
                .map(|i| (x.rotate_left(i as u32 % 64) >> 3) as u8)
                .collect();
            // Plausible nesting, so the walk goes deeper than the first byte.
            if der.len() > 4 && round % 2 == 0 {
                der[0] = SEQUENCE;
                der[1] = (len - 2).min(127) as u8;
                der[2] = SEQUENCE;
                der[3] = (len - 4).min(127) as u8;
            }
            let _ = subject(&der);
        }
    }

    #[test]
    fn dotted_oids() {
        assert_eq!(dotted(&[0x55, 0x04, 0x03]), "2.5.4.3");
        assert_eq!(
            dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
    }
}
