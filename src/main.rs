//! `relman`: every concern behind one binary (`relman changelog …`, `relman gate …`), plus
//! `relman audit` and `relman config`.

fn main() -> std::process::ExitCode {
    relman::cli::main()
}
