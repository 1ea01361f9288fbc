/**
 * Small stopword lists. English: the usual function words (close to the common IR lists) plus
 * contractions as they come out of the tokenizer (apostrophes dropped). Chinese: particles,
 * pronouns and the question frames students wrap around a topic (怎么/如何/可以吗...), which say
 * what kind of answer is wanted but not what it is about.
 */

export const EN_STOPWORDS: ReadonlySet<string> = new Set(
  `a about above after again against all am an and any are as at be because been before being below
  between both but by can could did do does doing down during each few for from further had has have
  having he her here hers herself him himself his how i if in into is it its itself just me more most my
  myself no nor not of off on once only or other ought our ours ourselves out over own same she should so
  some such than that the their theirs them themselves then there these they this those through to too
  under until up very was we were what when where which while who whom why will with would you your
  yours yourself yourselves also may might must shall us via etc ie eg anyone anybody someone somebody
  something anything thing things way ways get got getting please thanks thank hi hello hey
  dont doesnt didnt cant cannot couldnt wont wouldnt shouldnt isnt arent wasnt werent havent hasnt hadnt
  im ive id youre youve youd hes shes its were theyre theyve lets thats whats theres heres whos
  want wants wanted need needs like know possible able use using used way everything every ever really much lot lots`
    .split(/\s+/)
    .filter(Boolean),
);

/** Whole words (as jieba cuts them) dropped from Chinese text. */
export const ZH_STOPWORDS: ReadonlySet<string> = new Set(
  `的 了 吗 呢 啊 吧 呀 哦 嘛 么 嗯 哈 啦 喔 噢 哇 着 过 得 地 之 也 都 就 还 又 再 才 而 且 并 与 和 跟 及 或 或者
  是 不是 是不是 有没有 有 没有 在 于 把 被 给 对 向 从 到 让 将 为 为了 以 以及 因为 所以 但是 但 然后 如果 那么 这样 那样
  我 你 您 他 她 它 我们 你们 他们 她们 大家 自己 这 那 这个 那个 这些 那些 哪 哪个 哪些 什么 啥 谁 某
  怎么 怎么样 怎样 如何 咋 咋办 怎么办 怎么弄 为什么 为啥 请问 问一下 问下 一下 下 请 麻烦 谢谢 老师好 大家好 你好
  可以 可不可以 能 能不能 能否 可否 会 会不会 要 需要 想 想要 应该 得 该 行 行不行 好 吗 嘛 呗
  一个 一些 个 些 很 太 非常 比较 挺 最 更 就是 还是 已经 一直 现在 时候 的话 一样 这种 那种 里 上 中`
    .split(/\s+/)
    .filter(Boolean),
);

/** Single Han characters that carry no topic on their own: dropped as unigrams, and bigrams made only of them are dropped. */
export const ZH_STOPCHARS: ReadonlySet<string> = new Set(
  [...'的了吗呢啊吧呀哦嘛么嗯哈啦着过得地之也都就还又而且并与和及或是在于把被给对向从到让将为以我你您他她它们这那哪什啥谁怎样如何咋可能会要想该很太挺最更已一个些吗呗请']
);
