#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| marmot_fuzz_targets::sql_translation(data));
