/** Which messages are questions, and which are small talk the bot never answers. */

const INTERROGATIVE_ZH = /(怎么|怎样|如何|为什么|为啥|什么|哪里|哪儿|哪个|哪些|多少|几点|几号|能不能|可不可以|可以吗|是否|有没有|请问|求助|[吗呢嘛]\s*[。.!！~～]*$)/u;
const INTERROGATIVE_EN = /^(how|what|why|when|where|which|who|can|could|is|are|does|do|did|should|will|would|any(one|body))\b/i;

/** Acknowledgements and small talk: never questions, never answered, even in private. */
const SMALL_TALK = /^(?:收到|好的?|好滴|好嘞|行|嗯+|哦+|噢+|OK|okay|谢谢(?:老师|你|您|啦)?|多谢|感谢|辛苦了?|老师辛苦了|thanks?(?: you)?|thx|ty|哈+|呵+|\+1|1|👍|🙏|你好|您好|hi|hello|hey|在吗|在不在)[\s!！。.~～]*$/iu;

export function isSmallTalk(text: string): boolean {
  return SMALL_TALK.test(text.trim());
}

/** Whether a group message is a question, by the group's detection settings. */
export function looksLikeQuestion(text: string, mentionsBot: boolean, detect: readonly string[]): boolean {
  const t = text.trim();
  if (t === '' || t.startsWith('/') || isSmallTalk(t)) return false;
  if (detect.includes('mention') && mentionsBot) return true;
  if (detect.includes('question_mark') && /[?？]/.test(t)) return true;
  if (detect.includes('interrogative') && (INTERROGATIVE_ZH.test(t) || INTERROGATIVE_EN.test(t))) return true;
  return false;
}

