//! Rebuilds the binary when the bundled rules change: they are embedded with
//! `include_dir!`, which cargo does not track by itself on the stable toolchain.

fn main() {
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=grammar");
}
