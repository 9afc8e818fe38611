//! A customer's phone: kept as its digits so one customer is one key, and shown masked
//! (`138****8000`) to everyone but the agent that sold to it and the HQ roles allowed to
//! call customers. Plain functions.

/// The digits of a phone as typed ("138 0013-8000", "+86 138…"): 6 to 15 digits, the
/// mainland country code dropped from 13-digit `86…` numbers. None when it is not a phone.
pub fn normalize(raw: &str) -> Option<String> {
    if !raw.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')')) {
        return None;
    }
    let mut digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 13 && digits.starts_with("861") {
        digits.drain(..2);
    }
    (6..=15).contains(&digits.len()).then_some(digits)
}

/// `138****8000`: the first 3 and last 4 digits of 11 or more (the usual mask of a mainland
/// mobile number), at most half of the digits of a shorter one.
pub fn mask(phone: &str) -> String {
    let n = phone.chars().count();
    let (head, tail) = if n >= 11 { (3, 4) } else { (n / 4, n / 4) };
    phone.chars().enumerate().map(|(i, c)| if i < head || i >= n - tail { c } else { '*' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_customer_one_key() {
        for typed in ["13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "8613800138000"] {
            assert_eq!(normalize(typed).as_deref(), Some("13800138000"), "{typed}");
        }
        assert_eq!(normalize("(212) 555-0100").as_deref(), Some("2125550100"));
        for bad in ["", "12345", "phone", "138O0138000", "1234567890123456", "138\u{0}0138000"] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn masks_hide_the_middle() {
        assert_eq!(mask("13800138000"), "138****8000");
        assert_eq!(mask("2125550100"), "21******00");
        assert_eq!(mask("123456"), "1****6");
        for p in ["13800138000", "2125550100", "123456", "123456789012345"] {
            let shown = mask(p).chars().filter(char::is_ascii_digit).count();
            assert!(if p.len() >= 11 { shown == 7 } else { shown * 2 <= p.len() }, "{p} shows {shown}");
            assert!(mask(p).contains("**"), "{p}");
            assert_eq!(mask(p).chars().count(), p.len());
        }
    }
}
