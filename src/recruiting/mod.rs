//! Recruiting (招代理): every active agent's invite link and QR code, the public application
//! through it, its approval by the inviter and/or HQ (a brand setting), and the
//! authorization certificates (授权书) anyone can check.

pub mod applications;
pub mod certificates;
pub mod http;
pub mod invites;
pub mod upgrades;

use rand::Rng;

/// A random code of `len` characters from `alphabet`.
fn random_code(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect()
}

/// A QR code of `text` as SVG (black on white), `px` wide.
pub fn qr_svg(text: &str, px: u32) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color>().min_dimensions(px, px).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

/// `王芳` → `王*`: the first character and one star, whatever the length (the length says too much).
pub fn mask_name(name: &str) -> String {
    let first: String = name.trim().chars().take(1).collect();
    format!("{first}*")
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_and_codes() {
        assert_eq!(super::mask_name("王芳"), "王*");
        assert_eq!(super::mask_name("欧阳娜娜"), "欧*");
        let svg = super::qr_svg("http://127.0.0.1:8080/join/abcdefghij", 200);
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        assert_eq!(super::random_code(b"ab", 10).len(), 10);
    }
}
