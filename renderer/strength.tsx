/**
 * Passphrase strength with a maintained estimator (@zxcvbn-ts/core and its common + English
 * dictionaries), shown as a meter. Weak passphrases are refused unless the person insists.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';
import { useTranslation } from 'react-i18next';

let factory: ZxcvbnFactory | null = null;
function estimator(): ZxcvbnFactory {
  factory ??= new ZxcvbnFactory({
    translations: en.translations,
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...en.dictionary },
  });
  return factory;
}

export interface Strength {
  /** 0 (guessed at once) … 4 (very hard to guess). */
  readonly score: 0 | 1 | 2 | 3 | 4;
  readonly warning: string;
  readonly suggestions: string[];
}

/** At this score or above a passphrase is accepted without asking. */
export const STRONG_ENOUGH = 3;

export function strengthOf(passphrase: string, userInputs: string[] = []): Strength {
  const r = estimator().check(passphrase, userInputs);
  return { score: r.score, warning: r.feedback.warning ?? '', suggestions: r.feedback.suggestions };
}

const WORDS = ['veryWeak', 'weak', 'fair', 'strong', 'veryStrong'] as const;

export function StrengthMeter({ passphrase, userInputs }: { passphrase: string; userInputs?: string[] }) {
  const { t, i18n } = useTranslation();
  if (passphrase === '') return null;
  const s = strengthOf(passphrase, userInputs);
  return (
    <div className="strength" data-score={s.score}>
      <div className="strength-bar" role="meter" aria-label={t('strength.label')} aria-valuemin={0} aria-valuemax={4} aria-valuenow={s.score} aria-valuetext={t(`strength.word.${WORDS[s.score]}`)}>
        <div style={{ width: `${(s.score + 1) * 20}%` }} />
      </div>
      <span className="strength-word">{t(`strength.word.${WORDS[s.score]}`)}</span>
      {(s.warning || s.suggestions.length > 0) && s.score < STRONG_ENOUGH && i18n.language === 'en' && (
        <span className="hint">{[s.warning, ...s.suggestions].filter(Boolean).join(' ')}</span>
      )}
    </div>
  );
}
