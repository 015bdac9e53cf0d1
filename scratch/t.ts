import { TextTokenizer } from "../engine/tokenizer.ts";
const t = TextTokenizer.qwen3();
for (const s of [".\n\n", "\n\n", " 4", "4}", "}", " yes"]) console.log(JSON.stringify(s), t.encode(s));
