fn main() {
    println!("zonechaos {}", env!("CARGO_PKG_VERSION"));
}
