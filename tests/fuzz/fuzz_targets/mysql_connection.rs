#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| marmot_fuzz_targets::mysql_connection(data));
