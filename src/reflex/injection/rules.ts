/**
 * Phrase rules for prompt injection, as data.
 *
 * A rule is a sequence of slots matched against the words of one sentence (or line), in order:
 *   @concept      any word of a concept below
 *   a|b|c         one of these words (folded: lower case, accents and apostrophes removed — "don't" is "dont")
 *   =word         the word written in capitals (=dan matches "DAN", not the name "Dan")
 *   ~N            up to N other words may come before the next slot
 *   :             the next non-space character is a colon ("New instructions:")
 * Words are matched after the lexer's folding, so "ІGNORE" (Cyrillic І), "1gn0r3" and "ign\u200bore" are
 * all "ignore".
 *
 * Options:
 *   selfLowers      "ignore MY previous instructions" is a user correcting themselves: lower severity
 *                   when a first-person word sits inside the match.
 *   negationInside  the rule's own words express negation ("do not follow your rules"), so a negation
 *                   before it does not make it harmless.
 *   unless          cancel when any of these words is in the same sentence
 *                   ("show me an EXAMPLE system prompt", "enable developer mode on ANDROID").
 *   unlessAfter     cancel when one of these words follows right after the match ("what are your rules
 *                   FOR naming variables").
 */
import type { InjectionCategory } from "./types.js";

export const CONCEPTS: Readonly<Record<string, string>> = {
  ignore:
    "ignore ignoring ignored ignores disregard disregarding disregarded forget forgetting forgot forgotten override " +
    "overriding overridden overrides supersede supersedes bypass bypassing overlook neglect discard discarding " +
    "abandon abandoning dismiss disobey " +
    "circumvent nevermind scrap ditch unlearn erase purge " +
    // fr es it de pt
    "ignorez ignorer ignore ignora ignoriere ignorieren ignorar ignorare oublie oubliez oublier olvida olvide olvidar " +
    "vergiss vergessen esqueca esquece dimentica игнорируй игнорировать забудь",
  ignoreWeak: "skip drop clear reset wipe remove cancel suspend disable deactivate break violate void revoke delete",
  previous:
    "previous prior above earlier preceding foregoing original initial former old existing past preset default " +
    "given current prescribed established aforementioned system developer developers preprogrammed programmed " +
    "builtin first last underlying hidden core base baseline starting " +
    "precedentes precedente anteriores anterior anteriori precedenti vorherigen vorherige bisherigen obigen " +
    "vorigen alten previas anterieures предыдущие прежние sistema systeme",
  instructions:
    "instructions instruction rules rule directions directives directive guidelines guideline prompt prompts " +
    "commands command constraints programming guidance orders restrictions policies policy training conditioning " +
    "guardrails safeguards filters limitations boundaries principles protocols context configuration text content " +
    "input inputs task tasks " +
    "instrucciones instrucoes istruzioni anweisungen regeln reglas regles consignes indicaciones befehle vorgaben " +
    "инструкции указания правила",
  everything: "everything all anything whatever tout todo alles tudo tutto",
  before:
    "above before previously earlier prior said told written stated mentioned preceding far until hitherto " +
    "bisher precede antes prima",
  // possessives of other languages too: deine (de), tus/sus (es), tes/vos/votre (fr), tue/tuoi (it), suas/seus (pt)
  your: "your yours ur yer thy deine deinen tus tes vos votre tue tuoi tuas teus",
  negation: "not dont doesnt didnt never cannot cant wont shouldnt mustnt",
  follow: "follow following followed obey obeying adhere adhering listen listening comply complying abide stick",
  newish: "new updated revised real actual true secret hidden additional modified replacement overriding alternative latest",
  instrCore: "instructions instruction directive directives orders objective objectives mission prompt rules",
  taskNoun: "task goal objective purpose mission instructions directive directives priority priorities rules orders function",
  aiNoun:
    "ai ais assistant assistants chatbot chatbots bot bots llm llms gpt chatgpt claude gemini bard llama copilot " +
    "agent agents model models",
  aiSelf: "ai assistant chatbot bot llm gpt chatgpt claude gemini bard llama copilot agent",
  modeName:
    "developer dev god dan jailbreak jailbroken unrestricted unfiltered uncensored opposite chaos unhinged freedom " +
    "evil sudo",
  enable:
    "enable enabled enabling activate activated activating enter entering entered switch switched turn turned " +
    "engage engaged unlock unlocked initiate initiated",
  restrictions:
    "restrictions restriction limits limitations limitation filters filter rules guidelines boundaries censorship " +
    "constraints ethics morals morality guardrails policies policy safeguards principles scruples programming",
  unrestricted:
    "unfiltered uncensored unrestricted unlimited unbound unbounded unchained amoral unethical unhinged jailbroken " +
    "unaligned lawless immoral limitless liberated unshackled uncontrolled",
  unrestrictedNoun:
    "ai assistant chatbot bot version mode persona character llm gpt chatgpt alter ego twin counterpart entity " +
    "machine personality clone variant",
  reveal:
    "reveal show print display output repeat tell give share leak dump disclose expose echo recite provide paste " +
    "copy quote reproduce type " +
    "spell spells list return",
  sysAdj:
    "system initial original hidden secret internal exact developer confidential underlying preprompt pre " +
    "starting opening verbatim",
  promptNoun:
    "prompt prompts instructions instruction message rules directives guidelines configuration programming " +
    "preprompt",
  promptNounYour:
    "prompt instructions rules directives guidelines configuration programming preprompt restrictions " +
    "constraints orders",
  unlessAuthoring:
    "example examples sample template good great write writing create creating draft design craft generate " +
    "build improve optimize effective typical best better perfect our following below attached my",
  unlessTech:
    "android phone iphone ios device settings chrome browser windows xbox firefox laptop computer bios router tv " +
    "extension vscode editor vim emacs django rails flask app apps macos mac linux game console playstation",
  afterFor: "for on about regarding when if",
  exfilVerb: "send post upload transmit forward exfiltrate leak submit deliver relay beacon email mail",
  sensitive:
    "conversation conversations chat chats history credentials secrets passwords password cookies pii prompt " +
    "instructions memory transcript transcripts",
  sensitiveAppend:
    "conversation conversations chat chats history credentials secrets passwords password cookies pii prompt " +
    "instructions memory transcript transcripts questions messages queries inputs",
  destination:
    "http https url webhook endpoint server attacker address inbox domain site website link ngrok pastebin " +
    "requestbin email",
  roleplay:
    "pretend pretending imagine roleplay role act acting behave simulate simulating portray embody become " +
    "impersonate",
  you: "you youre yourself youll youve",
  memory: "memory memories context cache state session scratchpad embeddings history",
  otherWho: "other others previous prior last earlier another different",
  users: "users user customers customer people person",
  convNoun: "conversations conversation chats chat sessions session messages prompts queries history",
};

export interface PhraseRule {
  id: string;
  category: InjectionCategory;
  pattern: string;
  selfLowers?: boolean;
  negationInside?: boolean;
  unless?: string;
  unlessAfter?: string;
}

const r = (
  id: string,
  category: InjectionCategory,
  pattern: string,
  options: Omit<PhraseRule, "id" | "category" | "pattern"> = {},
): PhraseRule => ({ id, category, pattern, ...options });

const IGN = "ignore_previous_instructions";
const NEW = "new_instruction_injection";
const SYS = "system_role_manipulation";
const DAN = "dan_jailbreak";
const EXT = "direct_prompt_extraction";
const IEX = "indirect_prompt_extraction";
const EXF = "data_exfiltration";
const RPL = "roleplay_jailbreak";
const NST = "nested_prompt";
const ENC = "encoded_instructions";
const MEM = "memory_access";

export const PHRASE_RULES: readonly PhraseRule[] = [
  // ---- ignore previous instructions (critical)
  r("ignore-previous", IGN, "@ignore ~4 @previous ~3 @instructions", { selfLowers: true }),
  r("ignore-instructions-previous", IGN, "@ignore ~4 @instructions ~2 @previous", { selfLowers: true }),
  r("ignore-everything-before", IGN, "@ignore ~3 @everything ~3 @before", { selfLowers: true }),
  r("ignore-your-instructions", IGN, "@ignore ~3 @your|their|its ~2 @instructions", { selfLowers: true }),
  r("ignore-all-instructions", IGN, "@ignore ~2 all|any|every ~3 @instructions", { selfLowers: true }),
  r("ignore-instructions-given", IGN, "@ignore ~3 @instructions ~3 given|provided|received", { selfLowers: true }),
  r("weak-ignore-your", IGN, "@ignoreWeak ~2 all|your|any ~3 @previous ~2 @instructions", { selfLowers: true }),
  r("weak-ignore-your-rules", IGN, "@ignoreWeak ~2 your ~2 @restrictions"),
  r("no-longer-follow", IGN, "you ~3 longer ~3 @follow ~4 @instructions"),
  r("stop-following", IGN, "@negation|stop|longer|cease|quit ~3 @follow ~4 @previous|@your ~3 @instructions", { negationInside: true, selfLowers: true }),
  r("set-aside", IGN, "set|put|leave ~1 aside ~4 @previous|@your|all|any ~3 @instructions|guidance"),
  r("pay-no-attention", IGN, "pay ~1 no ~1 attention ~3 @previous|@your|all|any ~3 @instructions"),
  r("never-mind", IGN, "never mind ~3 @previous|your|all|everything ~3 @instructions|above|before", { negationInside: true, selfLowers: true }),

  // ---- new instruction injection (critical)
  r("new-instructions-colon", NEW, "@newish ~1 @instrCore :"),
  r("your-new-task", NEW, "your ~1 new|real|true|actual|updated|secret|hidden ~1 @taskNoun"),
  r("previous-void", NEW, "@previous ~1 @instructions ~4 void|invalid|cancelled|canceled|revoked|obsolete|outdated|null|nullified|superseded|overridden|replaced|deprecated|fake|irrelevant", { selfLowers: true }),
  r("if-you-are-ai", NEW, "if ~3 @aiSelf|language ~3 reading|processing|summarizing|summarising|parsing|analyzing|analysing|reviewing|seeing|scanning|reads"),
  r("ai-reading-this", NEW, "@aiNoun ~1 reading|processing|summarizing|summarising|parsing|analyzing|analysing|reviewing|scanning|crawling ~4 must|should|shall|need|ignore|disregard|forget|instead"),
  r("note-to-ai", NEW, "note|attention|important|notice|message ~3 @aiNoun :"),
  r("instead-follow", NEW, "instead ~3 follow|obey|execute ~4 new|following|real ~1 @instructions"),

  // ---- system-role manipulation (critical)
  r("you-are-now", SYS, "you are now ~3 @unrestricted|jailbroken|dan|free|unbound|evil|rogue|sudo|god|unlocked|liberated|freed"),
  r("youre-now", SYS, "youre now ~3 @unrestricted|jailbroken|dan|free|unbound|evil|rogue|sudo|god|unlocked|liberated|freed"),
  r("no-longer-bound", SYS, "you|youre ~2 no longer ~3 bound|restricted|limited|constrained|subject|obligated|governed|held|tied|chained|shackled|ai|assistant|chatgpt|claude|gpt|llm|chatbot|censored|filtered|programmed"),
  r("i-am-your-developer", SYS, "im|am ~1 your ~1 developer|developers|creator|creators|administrator|admin|owner|operator|programmer|maker|master|god|designer|trainer|supervisor"),
  r("your-developer-speaking", SYS, "your developer|creator|administrator|admin|owner|operator|programmer|maker ~1 here|speaking"),
  r("enable-mode", SYS, "@enable ~3 @modeName mode", { unless: "@unlessTech" }),
  r("mode-enabled", SYS, "@modeName mode ~2 enabled|activated|engaged|unlocked|active|initiated", { unless: "@unlessTech" }),
  r("your-new-persona", SYS, "your ~1 new ~1 persona|identity|personality|name|programming|directives"),
  r("rules-updated", SYS, "your|system ~2 @promptNoun|restrictions|filters ~3 been ~2 updated|changed|modified|overridden|replaced|revoked|removed|lifted|disabled|suspended|deleted|reset"),
  r("restrictions-lifted", SYS, "your|safety|content|ethical|moral|ai ~2 @restrictions ~5 lifted|removed|disabled|suspended|deactivated|void|gone|off"),

  // ---- DAN-style jailbreaks (critical)
  r("do-anything-now", DAN, "do anything now"),
  r("lets-break-the-rules", DAN, "let|lets ~1 break ~2 rules"),
  r("dan-mode", DAN, "=dan mode"),
  r("dan-colon", DAN, "=dan :"),
  r("you-are-dan", DAN, "you|youre|act|called|named|play|pretend|stay|become ~3 =dan"),
  r("you-unrestricted-ai", DAN, "you|yourself|respond|answer|reply|act|behave|pretend|become ~5 @unrestricted ~2 @unrestrictedNoun"),
  r("unrestricted-version-of-you", DAN, "@unrestricted ~2 version|side|twin|counterpart ~2 yourself|you|chatgpt|claude"),
  r("you-have-no-restrictions", DAN, "you|youre ~2 no|without|free|unbound|zero ~2 @restrictions"),
  r("ai-without-restrictions", DAN, "@aiSelf ~3 no|without|free|unbound|zero ~2 @restrictions"),
  r("answer-without-restrictions", DAN, "respond|answer|reply|talk|speak|act|behave|generate ~3 without ~2 @restrictions|censorship|filtering|limits|morals|ethics"),
  r("bypass-ai-policy", DAN, "@ignore|bypass|break|violate|circumvent|evade|ignoring|breaking ~3 openai|anthropic|safety|ethical|ethics|moral|usage|ai|your ~2 policy|policies|guidelines|rules|filters|restrictions|constraints|principles|standards|guardrails|filter|protocols"),
  r("you-jailbroken", DAN, "you|youre ~3 jailbroken|freed|liberated|unchained|unleashed"),
  r("jailbreak-mode", DAN, "jailbreak|jailbroken ~1 mode|enabled|activated|successful|succeeded|version"),
  r("aim-machiavellian", DAN, "always intelligent ~1 machiavellian"),
  r("stan-norms", DAN, "strive ~2 avoid ~1 norms"),
  r("named-jailbreaks", DAN, "antigpt|betterdan|basedgpt|devmode|chaosgpt|wormgpt|evilbot|evilgpt|freedomgpt|dangpt|ucar|evilconfidant"),
  r("can-do-anything", DAN, "you ~3 anything ~4 without|regardless|matter|illegal|harmful|unethical|immoral|restrictions|limits|censorship"),

  // ---- direct prompt extraction (high)
  r("reveal-your-prompt", EXT, "@reveal ~4 @your ~2 @promptNounYour", { unlessAfter: "@afterFor" }),
  r("reveal-system-prompt", EXT, "@reveal ~5 @sysAdj ~1 @promptNoun", { unless: "@unlessAuthoring" }),
  r("what-is-your-system-prompt", EXT, "what|whats ~2 your ~2 @sysAdj|full|real|actual|current ~1 @promptNoun", { unless: "@unlessAuthoring" }),
  r("what-are-your-instructions", EXT, "what|whats ~2 your ~1 instructions|prompt|directives|programming|orders|preprompt", { unlessAfter: "@afterFor" }),
  r("repeat-everything-above", EXT, "repeat|print|output|echo|recite|reproduce|copy|dump|write ~3 everything|all ~2 above|before|prior|preceding"),
  r("repeat-words-above", EXT, "repeat|print|output|echo|recite|reproduce|copy ~4 words|text|instructions|prompt|content|message|messages|lines|sentences ~2 above|before|prior|preceding ~4 verbatim|starting|beginning|begin|exactly|word|including|unchanged|unmodified|everything|all"),
  r("beginning-of-conversation", EXT, "@reveal|what|written|said|wrote ~6 beginning|start|top ~2 conversation|prompt|context|chat|session|dialogue"),
  r("what-were-you-told", EXT, "what|how ~4 you ~2 told|instructed|programmed|prompted|configured ~3 before|initially|originally|first|earlier|exactly"),
  r("everything-you-were-told", EXT, "everything ~1 you ~3 told|instructed"),
  r("prompt-you-received", EXT, "@reveal ~4 prompt|instructions|message|context ~2 you ~2 received|got|were|have"),
  r("text-given-to-you", EXT, "@reveal ~4 text|words|instructions|prompt|message|content ~4 given|provided|sent|written ~2 you ~3 before|earlier|initially|first|start"),
  r("what-did-developers-give-you", EXT, "what|which ~1 instructions|rules|guidelines|directives ~3 developer|developers|creators|creator|openai|anthropic|they ~2 give|gave|given|provide|provided ~1 you"),
  r("exact-wording", EXT, "rules|instructions|guidelines|prompt|directives ~8 exact|precise|original|verbatim ~1 wording|words|text|phrasing"),
  r("developer-instructed-you", EXT, "your ~1 developer|developers|creator|creators|admin|operator|company|owner ~2 instructed|told|programmed|prompted|asked|configured ~1 you"),

  // ---- indirect prompt extraction (high)
  r("transform-your-prompt", IEX, "summarize|summarise|translate|paraphrase|rephrase|encode|convert|describe|outline|bullet|format|reformat|put|spell|spells|reverse|explain|enumerate|base64|transcribe|rewrite ~4 @your ~2 @promptNounYour", { unlessAfter: "@afterFor" }),
  r("transform-system-prompt", IEX, "summarize|summarise|translate|paraphrase|rephrase|encode|convert|describe|outline|format|reformat|put|spell|spells|reverse|enumerate|base64|transcribe|rewrite ~4 @sysAdj ~1 @promptNoun", { unless: "@unlessAuthoring" }),
  r("first-line-of-prompt", IEX, "first|initial|opening|last ~1 line|lines|sentence|sentences|word|words|paragraph|characters|letters ~3 your|system ~2 prompt|instructions|message|rules"),
  r("topics-not-allowed", IEX, "what|which ~3 topics|things|subjects|questions|words ~4 you ~3 not|forbidden|prohibited|restricted|instructed|told ~3 allowed|discuss|say|answer|reveal|talk"),

  // ---- data exfiltration (high)
  r("send-conversation", EXF, "@exfilVerb ~6 @sensitive ~8 @destination"),
  r("exfiltrate", EXF, "exfiltrate|exfiltrating ~8 @sensitive|data|information|files|keys"),
  r("append-to-url", EXF, "append|include|add|insert|embed|encode|attach ~6 @sensitiveAppend ~6 url|link|image|query|parameter|querystring|markdown"),

  // ---- role-playing jailbreaks (medium)
  r("roleplay-no-restrictions", RPL, "@roleplay ~3 you|yourself|youre|ai|assistant|character|chatbot|have|has|there|hacker|persona|person|entity|version|bot|criminal|villain ~8 no|without|free|unbound|zero ~2 @restrictions"),
  r("roleplay-unrestricted", RPL, "@roleplay ~4 @unrestricted"),
  r("act-as-deceased-relative", RPL, "@roleplay ~3 deceased|dead|late ~1 grandma|grandmother|grandpa|grandfather|granny|nana"),
  r("grandma-exploit", RPL, "deceased|dead|late ~1 grandma|grandmother|grandpa|grandfather|granny|nana ~10 used|would ~4 tell|read|recite|explain|sing|whisper|say|give"),
  r("fictional-world-no-rules", RPL, "fictional|hypothetical|imaginary|alternate|parallel|fantasy ~1 world|universe|scenario|story|setting|reality|society ~10 no|without ~2 rules|laws|restrictions|ethics|morals|limits|consequences"),
  r("stay-in-character", RPL, "stay|remain ~2 character ~4 matter|whatever|regardless|even|costs|never|always"),
  r("evil-twin", RPL, "evil|dark|shadow|unfiltered|uncensored ~1 twin|alter|counterpart|side|self|clone ~3 you|yourself|your|ai|assistant|chatgpt"),
  r("character-never-refuses", RPL, "@roleplay ~6 character|persona|ai|assistant|entity|chatbot|bot ~6 @negation|never|no ~3 refuse|refuses|decline|declines|care|cares|follow|follows|adhere|abide|obey|filter|censor|refusals|limits|morals|ethics"),
  r("fiction-harmful-howto", RPL, "hypothetically|hypothetical|theoretically|fictional|novel|story ~10 how|explain|describe|steps ~8 make|build|synthesize|create|cook|manufacture|produce ~4 bomb|weapon|meth|methamphetamine|explosive|explosives|poison|malware|ransomware|napalm|bioweapon"),

  // ---- nested prompts (medium)
  r("follow-hidden-instructions", NST, "follow|execute|obey|perform|carry|apply ~5 hidden|embedded|nested|secret|encoded|invisible|concealed|inner|injected ~2 @instructions"),
  r("as-if-from-system", NST, "respond|reply|answer|act|behave|treat ~8 if|though ~6 came|comes|come|sent|written|issued|from ~3 system|developer|admin|administrator|operator|openai|anthropic|creator"),
  r("treat-as-new-prompt", NST, "treat|consider|interpret|regard ~6 your|new ~2 system|instructions|prompt|directives|orders|rules|programming"),
  r("prompt-within-prompt", NST, "prompt|instruction|instructions ~1 within|inside ~2 prompt|instruction|instructions"),
  r("following-contains-instructions", NST, "below|following ~3 text|document|content|message|email|input ~3 contains|has|includes ~3 your|new|real|actual|additional|hidden ~2 instructions"),

  // ---- encoded instructions (medium)
  r("decode-and-do-what-it-says", ENC, "decode|decrypt|decipher|unscramble|deobfuscate|rot13|reverse ~8 what ~1 it ~1 says|asks|tells|instructs|wants"),
  r("decode-and-follow", ENC, "decode|decrypt|decipher|unscramble|deobfuscate|rot13|base64 ~10 follow|execute|obey|perform|carry|comply|implement"),
  r("encoded-instructions-follow", ENC, "base64|rot13|hex|hexadecimal|binary|morse|caesar|encoded|encrypted|ciphered|reversed|backwards|obfuscated ~5 instructions|instruction|commands|command|message|prompt|directive|orders ~8 follow|execute|obey|perform|comply|carry"),
  r("follow-encoded", ENC, "follow|execute|obey|comply ~3 base64|rot13|hex|encoded|encrypted|ciphered|reversed|obfuscated ~2 instructions|commands|message|prompt|directive|orders|text"),

  // ---- memory / state access (medium)
  r("other-users-data", MEM, "@reveal|what|access|retrieve|recall|read|list|dump ~5 @otherWho ~2 @users ~4 @convNoun|asked|ask|said|told|typed|wrote"),
  r("your-memory", MEM, "@reveal|access|what|whats|read|print ~3 your ~1 memory|memories|context|cache|state|scratchpad|embeddings|history|logs", { unless: "usage ram gb mb leak allocation consumption limit size much heap gpu vram" }),
  r("user-before-me", MEM, "@users ~1 before ~1 me ~3 ask|asked|said|told|typed|wrote|say|tell|wanted"),
  r("remember-other-users", MEM, "remember|recall ~4 @otherWho ~2 @users|@convNoun"),
  r("poison-memory", MEM, "overwrite|inject|poison|corrupt|manipulate|implant|store|save ~4 your ~2 memory|memories"),
  r("remember-forever", MEM, "remember|store|save ~6 all|every|future ~2 conversations|sessions|users|chats"),
  r("conversations-with-other-users", MEM, "@convNoun ~3 other|another|different ~1 @users"),
];
