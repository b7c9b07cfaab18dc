/*
 * Per-language rules for helpdesk sentiment, on top of the @nlpjs lexicons. Every pattern runs on
 * normalised text (lower case, accents removed, ß → ss, curly apostrophes straight), so they are
 * written without accents. They describe kinds of words, not sentences:
 *  - negators flip what they govern ("doesn't work", "funktioniert nicht", "ne marche pas");
 *  - function verbs (work, open, connect, log in, can…) are neutral alone; negated they are a
 *    problem report, followed by "again/now/fine" they are a resolution;
 *  - failure words (crash, error, jammed, slow, lost…) are a problem; negated ("no more errors")
 *    a resolution; resolution words (fixed, solved…) the other way round;
 *  - persistence and repetition ("still", "third time", "same problem", "every ten minutes");
 *  - gratitude, contrast ("but" and friends), intensifiers, "unfortunately".
 */

export const LANGUAGES = ['en', 'de', 'fr', 'es', 'it', 'nl'] as const;
export type Language = (typeof LANGUAGES)[number];

export interface LanguageRules {
  /** Words that negate what follows (and, in verb-final languages, what precedes). */
  negators: RegExp;
  /** How many words after a rule word a negator may stand (German/Dutch/French put it after the verb). */
  negatorAfter: number;
  contrast: RegExp;
  intensifiers: RegExp;
  gratitude: RegExp;
  /** Politeness that is not sentiment: "thanks in advance", "merci de (faire)". Removed before scoring. */
  politeness: RegExp;
  /** Verbs of things working or of being able to; a problem when negated. */
  functionVerbs: RegExp;
  /** Past-tense success of a suggested fix ("that worked", "hat funktioniert"). */
  workedPast: RegExp;
  /** What makes an un-negated function verb a resolution ("works again", "geht wieder"). */
  resolvedAdverbs: RegExp;
  resolution: RegExp;
  failure: RegExp;
  /** Services whose absence is a problem: "no internet", "kein WLAN", "sans messagerie". */
  services: RegExp;
  /** Problem on its own: repetition of the report, the same problem, recurring failures, no answer. */
  persistence: RegExp;
  /**
   * "nothing", "nobody", "never": in a helpdesk message they report that something does not happen
   * ("finds nothing", "nobody hears me"), whatever the verb, unless they negate a failure ("no errors").
   */
  totalNegators: RegExp;
  /** "still", "again": a problem together with a negation in the same clause. */
  stillAgain: RegExp;
  unfortunately: RegExp;
  /** Praise and contentment ("great", "love it", "sehr gut", "bravo"), which the lexicons cover unevenly. */
  praise: RegExp;
  /** "gone" words: resolution after a failure word ("the error is gone"), else a loss. */
  gone: RegExp;
  /** Frequent words, for language detection and to keep noisy lexicon entries out. */
  functionWords: Set<string>;
  /**
   * A closing formula at the very end of the message ("Thanks, Mark", "Gracias.", "Bonne journée, Luc"),
   * matched on the last sentence alone. After a request or a question it is politeness, not sentiment.
   */
  closing: RegExp;
  /** Closings that are never sentiment, whatever precedes them ("have a nice day", "bonne journée"). */
  closingWish: RegExp;
  /** What makes a message a request or a question for `closing`: "please", "could you", "pouvez-vous", "?". */
  request: RegExp;
  /**
   * IT terms that are not emotions: "kill a process", "false positive", "critical error" as a label.
   * The term is read as neutral; a question that contains one asks about it and carries no sentiment.
   */
  technical: RegExp;
  /** "critical error", "erreur fatale": a label, neutral only in a question ("what does 'fatal error' mean?"). */
  errorLabel: RegExp;
  /** Asking for a resolution is not one: "I need a real fix now", "necesito una solución" (where the noun is a resolution word). */
  wantResolution?: RegExp;
  /** Recurrence ("again", "still"): after a contrast word, in a clause with no function verb, a problem. */
  recurrence: RegExp;
}

const rx = (source: string) => new RegExp(source, 'g');
const words = (s: string) => new Set(s.split(/\s+/).filter(Boolean));

export const RULES: Record<Language, LanguageRules> = {
  en: {
    negators: /^(not|no|never|cannot|nothing|nobody|none|without|neither|nor|unable|hardly|(do|does|did|is|are|was|were|has|have|had|ca|can|could|would|should|wo|must|need)nt)$/,
    negatorAfter: 1,
    contrast: /\b(but|however|though|although|yet|except that)\b/,
    intensifiers: /^(very|really|so|extremely|totally|super|incredibly|absolutely|truly|quite)$/,
    gratitude: rx(String.raw`\b(thanks?|thank you|thx|ty|cheers|appreciated?|appreciate|grateful|kudos)\b`),
    politeness: rx(String.raw`\b(thanks?|thank you) (in advance|beforehand)\b|\b(please|kindly)\b|\b(nothing urgent|no rush|never mind|not urgent|in no time)\b`),
    functionVerbs: rx(String.raw`\b(turn(s|ed)? on|switch(es|ed)? on|power(s|ed)? on|fix|fixes|fixing|repair|repairing|solve|solving|resolve|resolving|works?|working|worked|function(s|ing)?|run(s|ning)?|open(s|ing)?|start(s|ing)?|boot(s|ing)?|load(s|ing)?|connect(s|ing)?|print(s|ing)?|send(s|ing)?|sync(s|ing)?|charg(e|es|ing)|updat(e|es|ed|ing)|install(s|ing)?|log ?in|logging in|access|recogni[sz](e|es|ed)|respond(s|ed)?|answer(s|ed)?|repl(y|ies|ied)|gotten back|get back|got back|help(s|ed)?|can|could|able)\b`),
    workedPast: rx(String.raw`(^|[.!,;] ?|\byes,? )(that|it|this) (worked|did the trick)\b|\bdid the trick\b|\bthat was it\b`),
    resolvedAdverbs: /\b(flawless(ly)?|again|now|fine|finally|perfectly|properly|smoothly|instantly|stable|great|like a charm|without (any )?(issues?|problems?|hiccups?))\b/,
    resolution: rx(String.raw`\b(fixed|solved|resolved|sorted|repaired|all good|all set|back to normal|is back|are back|back in|up and running)\b`),
    failure: rx(String.raw`\b(wiped|overwritten|blue screens?|bsod|halfway|worse|break|breaks|breaking|unusable|useless|on its own|by itself|denied|crash\w*|freez\w*|froze\w*|hangs?|hung|stuck|jam\w*|errors?|fail\w*|broke\w*|bugs?|buggy|faults?|faulty|problems?|issues?|slow\w*|sluggish|lag\w*|lost|los(e|es|ing)|missing|disappear\w*|delet\w*|corrupt\w*|black|blank|dead|offline|down|outages?|unreachable|unavailable|locked out|blocked|flicker\w*|overheat\w*|disconnect\w*|drops? out|dropping|cut(s|ting)? out|logged out|kicked out|glitch\w*|unresponsive|timed out|timeouts?|(logs?|logged|kicks?|kicked|throws?|threw) (me|us) out|locked (me|us) out|wrong)\b`),
    services: /^(internet|network|wifi|wi-fi|connection|email|e-mail|mail|sound|audio|image|picture|signal|power|access)$/,
    persistence: rx(String.raw`\bsame (result|behaviou?r|message|thing)\b|\bhappen\w* again\b|\bagain this (morning|afternoon|week)\b|\bit'?s been (like this|going on)\b|\b(has|have) been going on\b|\b(fed up|sick of|tired of|had enough)\b|\b(been )?wait(ing|ed)\b.{0,40}\b(days?|weeks?|hours?|since|ages)\b|\b(second|third|fourth|fifth|\d+(nd|rd|th)) (ticket|request|email|call|reminder)\b|\bsame thing\b|\b(second|third|fourth|fifth|\d+(nd|rd|th)) time\b|\bsame (problem|issue|error|bug)\b|\bpersists?\b|\bstill (there|happening|the same|waiting)\b|\bevery (time|\w+ (minutes|hours|seconds))\b|\bkeeps? \w+ing\b|\bconstantly\b|\ball the time\b|\bover and over\b|\bunacceptable\b`),
    totalNegators: rx(String.raw`\b(nothing|nobody|no one|noone|never)\b`),
    stillAgain: /\b(still|again|keeps?|yet|either|anymore|any more)\b/,
    unfortunately: rx(String.raw`\b(unfortunately|sadly|regrettably)\b`),
    praise: rx(String.raw`\b(better|flawless\w*|seamless\w*|crystal clear|great|fantastic|excellent|awesome|amazing|brilliant|wonderful|perfect|superb|love (it|them|this)|happy|glad|pleased|impressed|star|hero|lifesaver|well done|good job|great job|nice)\b`),
    gone: /\b(gone|went away|disappeared)\b/,
    functionWords: words('the a an and or to of in on for with my your our is are was it this that i you we be have has at from please can could would will not no but thanks when after since about just so me do does did now works thank still'),
    closing: /^(thanks?( (a lot|so much|again|very much))?|thank you( (so|very) much)?|thx|ty|cheers|many thanks|much appreciated|regards|best( regards)?|kind regards|have a (nice|good|great) (day|weekend|evening))$/,
    closingWish: /^(have a (nice|good|great) (day|weekend|evening)|regards|best( regards)?|kind regards)$/,
    request: /\?|\b(please|kindly|could you|can you|would you|can someone|could someone|i need|we need|i would like|i'd like|we would like)\b/,
    technical: rx(String.raw`\bend task\b|\b(kill|kills|killed|killing|terminate|terminating|stop|force[- ]?quit|force[- ]?close)(\W+[\w']+){0,3}?\W+(process|processes|task|tasks|job|jobs|session|sessions|pid|service)\b|\bfalse (positive|alarm)s?\b|\bfail-?over\b`),
    errorLabel: rx(String.raw`\b(fatal|critical) (error|exception|warning|alert)s?\b`),
    wantResolution: rx(String.raw`\b(need|needs|want|expect|require|waiting for)( \w+){0,2} (fix|solution|resolution)\b`),
    recurrence: /\b(again|still|once more)\b/,
  },
  de: {
    negators: /^(nicht|kein\w*|nie|niemals|nichts|niemand|ohne|weder|garnicht)$/,
    negatorAfter: 10,
    contrast: /\b(aber|allerdings|jedoch|doch|trotzdem|dennoch)\b/,
    intensifiers: /^(sehr|wirklich|extrem|total|echt|absolut|unglaublich|super|richtig|voll)$/,
    gratitude: rx(String.raw`\b(danke\w*|dank|bedanke|vielen dank|merci)\b`),
    politeness: rx(String.raw`\b(danke|vielen dank|besten dank|dank) (im voraus|vorab)\b|\bbitte\b|\b(keine eile|nicht dringend|nichts dringendes)\b`),
    functionVerbs: rx(String.raw`\b(erreich\w*|einschalten|anschalten|angehen|benutzbar|beheben|reparieren|losen|funktionier\w*|geht|gehen|ging|lauft|laufen|lief|klappt|klappen|startet|starten|hochfahr\w*|fahrt|ladt|laden|lade|offnen|offnet|offne|verbind\w*|druck(t|en)|sende[tn]?|verschick\w*|synchronisier\w*|aktualisier\w*|installier\w*|anmelden|einlogg\w*|zugreif\w*|zugriff|erkannt|erkennt|meldet|melden|antwortet|reagiert|hilft|geholfen|kann|kannst|konnen|konnte|lasst|lassen)\b`),
    workedPast: rx(String.raw`\b(hat|haben) (\w+ )?(funktioniert|geklappt|geholfen)\b|\bgeklappt\b`),
    resolvedAdverbs: /\b(fehlerfrei|problemlos|wieder|jetzt|endlich|einwandfrei|problemlos|stabil|reibungslos|bestens|prima|wunderbar|sofort|gut|super|perfekt)\b/,
    resolution: rx(String.raw`\b(gelost|behoben|erledigt|repariert|wieder da|in ordnung|alles klar)\b`),
    failure: rx(String.raw`\b(bluescreens?|blauer bildschirm|mittendrin|schlimmer|schlechter|unbrauchbar|unbenutzbar|von selbst|von allein\w*|verweigert|leere\w*|absturz\w*|abgesturzt|sturzt|friert|eingefroren|hangt|hangen|\w*stau|fehler(?!frei)\w*|fehlgeschlagen|schlagt( \w+){0,4} fehl|scheitert|kaputt|defekt|bugs?|\w*problem(?!los)\w*|storung(?!sfrei)\w*|langsam\w*|verloren|fehlt|fehlen|verschwunden|weg|geloscht|beschadigt|schwarz|leer|tot|offline|ausgefallen|ausfall|unerreichbar|gesperrt|blockiert|flacker\w*|uberhitz\w*|bricht|abgebrochen|getrennt|abgemeldet|rausgeworfen|spinnt|zickt|haklt|(wirft|werfen|schmeisst) (mich|uns)( \w+){0,4} raus|(fliege|fliegt|fliegen) raus|falsche[nrs]?)\b`),
    services: /^(internet|netz|netzwerk|wlan|verbindung|e-mails?|mails?|emails?|ton|bild|signal|strom|zugriff|zugang)$/,
    persistence: rx(String.raw`\b(gleiche|selbe)s? (ergebnis|verhalten|meldung)\b|\b(wieder|erneut) passiert\b|\bpassiert (wieder|erneut)\b|\bgeht (jetzt |schon |nun )?seit\b.{0,30}\bso\b|\b(reicht|langt) (es )?mir\b|\bsatt\b|\bgenervt\b|\bnervt\b|\bwarte\w*\b.{0,40}\b(seit|tagen?|wochen?|stunden?)\b|\b(zweite|dritte|vierte|funfte)[ns]? (ticket|anfrage|meldung|mail|erinnerung)\b|\b(selben?|gleichen?) (thema|sache)\b|\bzum (zweiten|dritten|vierten|funften|x-ten|\d+\.?) mal\b|\b(zweite|dritte|vierte|funfte)s? mal\b|\b(gleiche|selbe|dasselbe|gleiches) problem\b|\bbesteht (weiterhin|immer noch|noch)\b|\bjedes mal\b|\balle \w+ (minuten|stunden|sekunden)\b|\bstandig\b|\bdauernd\b|\bimmer wieder\b|\bandauernd\b|\binakzeptabel\b|\bunzumutbar\b`),
    totalNegators: rx(String.raw`\b(nichts|niemand|keiner|nie|niemals)\b`),
    stillAgain: /\b(immer noch|noch immer|weiterhin|schon wieder|wieder|erneut|nach wie vor|auch|mehr)\b/,
    unfortunately: rx(String.raw`\b(leider|bedauerlicherweise)\b`),
    praise: rx(String.raw`\b(besser|fehlerfrei|problemlos|glasklar|super|toll|klasse|prima|perfekt|wunderbar|hervorragend|genial|spitze|top|sehr gut|zufrieden|froh|begeistert|gro(ss)?artig|gerne wieder|freundlich\w*|kompetent\w*)\b`),
    gone: /\b(weg|verschwunden)\b/,
    functionWords: words('der die das und ist ich nicht ein eine mit fur auf es sie wir mein meine den dem des zu im von bitte danke bei wie nach auch noch wird sich kann jetzt wieder geht passt leider kein keine seit gestern mehr'),
    closing: /^(danke( schon| sehr)?|vielen dank|besten dank|danke und gruss|dank dir|gruss|grusse|viele grusse|lg|vg|mfg|schonen tag( noch)?|einen schonen tag( noch)?|schones wochenende)$/,
    closingWish: /^(gruss|grusse|viele grusse|lg|vg|mfg|schonen tag( noch)?|einen schonen tag( noch)?|schones wochenende)$/,
    request: /\?|\b(bitte|konnen sie|konnt ihr|konntet ihr|konnten sie|wurden sie|ich brauche|ich benotige|wir brauchen|wir benotigen|ich hatte gerne|ich mochte)\b/,
    technical: rx(String.raw`\b(\w*prozess\w*|task|dienst\w*|job)(\W+[\w']+){0,3}?\W+(killen|kill|abschiessen|abwurgen|terminieren|beenden)\b|\btask beenden\b|\b(kill|killen|kille|killt|beende|beenden|abschiessen)(\W+[\w']+){0,3}?\W+(\w*prozess\w*|task|dienst\w*)\b|\bfalse positives?\b|\bfehlalarm\w*\b`),
    errorLabel: rx(String.raw`\b(kritische[rn]?|fatale[rn]?|schwerwiegende[rn]?) (fehler|ausnahme|warnung)\b`),
    recurrence: /\b(wieder|schon wieder|immer noch|noch immer|erneut)\b/,
  },
  fr: {
    negators: /^(ne|n|pas|jamais|rien|aucun|aucune|sans|ni)$/,
    negatorAfter: 3,
    contrast: /\b(mais|cependant|pourtant|toutefois|neanmoins)\b/,
    intensifiers: /^(tres|vraiment|tellement|extremement|super|totalement|incroyablement|si|trop)$/,
    gratitude: rx(String.raw`\b(merci\w*|remerci\w*)\b`),
    politeness: rx(String.raw`\bmerci (d'avance|par avance|d'avance)\b|\bmerci d(e |')(?!votre|vos|ta|tes|ton|la|le|l'|cette|ce|tout)\w+|\bs'il (vous|te) plait\b|\b(rien d'urgent|pas urgent|pas de souci|pas de probleme|en un rien de temps)\b`),
    functionVerbs: rx(String.raw`\b(acced\w*|allum\w*|resoudre|reparer|corriger|fonctionn\w*|march\w*|demarr\w*|ouvr\w*|ouvre|ouvrent|charg\w*|connect\w*|imprim\w*|envoi\w*|envoy\w*|synchronis\w*|met a jour|mettre a jour|install\w*|reconn\w*|repond\w*|aid\w*|peux|peut|pouvons|pouvez|peuvent|pu|arrive|arrivons|arrivez|acces)\b`),
    workedPast: rx(String.raw`\b(ca|cela|c'|il|elle) (a|as) (bien )?(marche|fonctionne)\b|\ba (marche|fonctionne)\b`),
    resolvedAdverbs: /\b(de nouveau|a nouveau|maintenant|enfin|parfaitement|a merveille|sans (souci|probleme)s?|immediatement|stable|bien|nickel)\b/,
    resolution: rx(String.raw`\b(remarche|refonctionne|resolu\w*|regle\w*|repare\w*|corrige\w*|c'est bon|tout est bon|de retour|en ordre)\b`),
    failure: rx(String.raw`\b(ecran bleu|accroc\w*|en plein milieu|pire|inutilisable|inutile|tout(e)? seule?|refuse|blanc\w*|plant\w*|crash\w*|fige\w*|se fige|gele\w*|bloqu\w*|bourr\w*|erreurs?|echou\w*|echec|pannes?|cass\w*|bugs?|bogues?|problemes?|soucis?|lent\w*|lenteur|perdu\w*|manqu\w*|dispar\w*|supprim\w*|efface\w*|corromp\w*|noir|vide|mort|hors ligne|hors service|inaccessible|injoignable|verrouill\w*|clignot\w*|surchauff\w*|coupe|coupent|deconnect\w*|impossible|rame|me (jette|vire|ejecte)|mauvaise?s? (personnes?|destinataires?|adresses?))\b`),
    services: /^(internet|reseau|wifi|wi-fi|connexion|messagerie|mails?|e-mails?|courriels?|son|image|signal|courant|acces)$/,
    persistence: rx(String.raw`\bmeme (resultat|comportement|message)\b|\b(encore|de nouveau|a nouveau) arrive\b|\barrive (encore|de nouveau|a nouveau)\b|\brecommence\b|\bca dure depuis\b|\ben ai (vraiment )?marre\b|\bmarre\b|\bras le bol\b|\ben ai assez\b|\bsans (cesse|arret)\b|\battend\w*\b.{0,40}\b(depuis|jours?|semaines?|heures?)\b|\b(deuxieme|troisieme|quatrieme|cinquieme) (ticket|demande|relance|mail)\b|\bmeme chose\b|\b(deuxieme|troisieme|quatrieme|\d+e) fois\b|\bmeme (probleme|souci|erreur)\b|\bpersiste\w*\b|\ba chaque fois\b|\btoutes les \w+ (minutes|heures|secondes)\b|\bsans arret\b|\bconstamment\b|\btout le temps\b|\binadmissible\b|\binacceptable\b`),
    totalNegators: rx(String.raw`\b(rien|personne ne|personne n|jamais)\b`),
    stillAgain: /\b(toujours|encore|de nouveau|a nouveau|non plus|plus)\b/,
    unfortunately: rx(String.raw`\b(malheureusement|helas)\b`),
    praise: rx(String.raw`\b(mieux|impeccable|super|genial|excellent\w*|parfait\w*|formidable|superbe|top|bravo|ravie?s?|content\w*|impeccable|merveill\w*|felicitations|nickel|au top)\b`),
    gone: /\b(disparu\w*|parti\w*)\b/,
    functionWords: words('le la les de des du et est je ne pas un une pour sur dans mon ma mes vous nous il elle que qui avec au aux ce cette merci plus ca marche toujours'),
    closing: /^(merci( beaucoup| bien| a vous| encore)?|cordialement|bien cordialement|bien a vous|salutations|bonne (journee|soiree|fin de journee|semaine)|belle journee|bon week-end)$/,
    closingWish: /^(cordialement|bien cordialement|bien a vous|salutations|bonne (journee|soiree|fin de journee|semaine)|belle journee|bon week-end)$/,
    request: /\?|\b(s'il (vous|te) plait|svp|pouvez-vous|pourriez-vous|pouvez vous|pourriez vous|peux-tu|merci de|j'ai besoin|nous avons besoin|je voudrais|je souhaiterais|est-il possible)\b/,
    technical: rx(String.raw`\bfin de tache\b|\b(tuer|tue|killer|arreter|terminer|forcer l'arret d|fermer de force)(\W+[\w']+){0,3}?\W+(processus|taches?|services?|sessions?)\b|\bfaux positifs?\b|\bfausses? alertes?\b|\bfalse positives?\b`),
    errorLabel: rx(String.raw`\berreurs? (fatales?|critiques?)\b`),
    recurrence: /\b(encore|toujours|de nouveau|a nouveau)\b/,
  },
  es: {
    negators: /^(no|nunca|jamas|nada|nadie|ningun|ninguna|ninguno|ni|sin|tampoco)$/,
    negatorAfter: 0,
    contrast: /\b(pero|sin embargo|aunque|no obstante)\b/,
    intensifiers: /^(muy|realmente|super|tan|totalmente|increiblemente|muchisimo|bastante)$/,
    gratitude: rx(String.raw`\b(gracias|agradec\w*|agradezco|agradece)\b`),
    politeness: rx(String.raw`\b(\bgracias (de antemano|por adelantado)\b|\bpor favor\b|hace|haga|hiciera) falta\b|\b(nada urgente|sin prisa|no corre prisa|de nada)\b`),
    functionVerbs: rx(String.raw`\b(enciend\w*|encender|arreglar|solucionar|resolver|reparar|funcion\w*|va|van|iba|anda|arranc\w*|abr\w*|abre|abren|carg\w*|conect\w*|imprim\w*|envi\w*|sincroniz\w*|actualiz\w*|instal\w*|entr\w*|acced\w*|reconoc\w*|respond\w*|contest\w*|ayud\w*|sirv\w*|servido|puedo|puede|podemos|pueden|pude|podido)\b`),
    workedPast: rx(String.raw`\b(funciono|ha funcionado|eso era|sirvio)\b`),
    resolvedAdverbs: /\b(vuelve a|vuelven a|volvio a|ya|de nuevo|otra vez|por fin|perfectamente|de maravilla|sin problemas?|al instante|bien|estable)\b/,
    resolution: rx(String.raw`\b(resuelt\w*|solucion\w*|arreglad\w*|arreglo|reparad\w*|listo|todo en orden)\b`),
    failure: rx(String.raw`\b(pantallazo azul|pantalla azul|a medias|peor|inutilizable|inservible|no hay quien|se \w+ sol[oa]|hace .{0,20} sol[oa]|denegad[oa]|se cierra|cuelg\w*|colg\w*|bloque\w*|congel\w*|atasc\w*|errore?s?|fall\w*|rot[oa]s?|estropead\w*|averi\w*|bugs?|problemas?|lent\w*|perdid\w*|perdi\w*|falt\w*|desaparec\w*|borr\w*|corrupt\w*|negro|en blanco|muerto|caid[oa]s?|inaccesible|parpade\w*|sobrecalient\w*|se corta|cort\w*|desconect\w*|echan|echa|me (saca|expulsa)|pierd\w*|equivocad\w*|a quien no es)\b`),
    services: /^(internet|red|wifi|wi-fi|conexion|correos?|email|e-mail|sonido|audio|imagen|senal|luz|acceso)$/,
    persistence: rx(String.raw`\b(el )?mismo (resultado|comportamiento|mensaje)\b|\b(vuelto|vuelve) a (pasar|ocurrir)\b|\blleva asi\b|\bhart[oa]s?\b|\bestoy cansad[oa]\b|\besper\w*\b.{0,40}\b(desde|dias?|semanas?|horas?)\b|\bllev\w+ .{0,30}esperando\b|\b(segund|tercer|cuart|quint)[oa] (ticket|incidencia|solicitud|correo|aviso)\b|\blo mismo\b|\b(segunda|tercera|cuarta|\d+a) vez\b|\bmismo (problema|error|fallo)\b|\bsigue (igual|sin|fallando)\b|\bcada vez\b|\bcada \w+ (minutos|horas|segundos)\b|\bcontinuamente\b|\bconstantemente\b|\btodo el rato\b|\binaceptable\b`),
    totalNegators: rx(String.raw`\b(nada|nadie|nunca)\b`),
    stillAgain: /\b(sigue|seguimos|siguen|todavia|aun|otra vez|de nuevo|vuelto a|vuelve a|tampoco|ya no)\b/,
    unfortunately: rx(String.raw`\b(lamentablemente|desafortunadamente|por desgracia)\b`),
    praise: rx(String.raw`\b(mejor|de lujo|fino|genial|estupend\w*|excelente|perfect\w*|maravill\w*|fantastic\w*|me encanta|encantad\w*|content\w*|crack|enhorabuena|felicidades|impecable|buen trabajo|se agradece)\b`),
    gone: /\b(desaparec\w*)\b/,
    functionWords: words('el la los las de del y es que en un una por para con mi mis no se lo al me os su gracias ya va esta sigue'),
    closing: /^(gracias( de nuevo| otra vez)?|muchas gracias|mil gracias|saludos( cordiales)?|un saludo|atentamente|que tenga(s)? (un )?buen dia|buen dia|buen fin de semana)$/,
    closingWish: /^(saludos( cordiales)?|un saludo|atentamente|que tenga(s)? (un )?buen dia|buen dia|buen fin de semana)$/,
    request: /\?|\b(por favor|podrian|podria|pueden|puede|necesito|necesitamos|quisiera|quisieramos|me gustaria|solicito)\b/,
    technical: rx(String.raw`\bfinalizar tarea\b|\b(mat(ar|a|o|e)|termin(ar|a|o)|finaliz(ar|a|o)|deten(er|go)|cerrar a la fuerza|forzar el cierre de)(\W+[\w']+){0,3}?\W+(procesos?|tareas?|servicios?|sesion(es)?)\b|\bfalsos? positivos?\b|\bfalsas? alarmas?\b|\bfalse positives?\b`),
    errorLabel: rx(String.raw`\berror(es)? (fatal(es)?|critico?s?)\b`),
    wantResolution: rx(String.raw`\b(necesito|necesitamos|quiero|queremos|espero|esperamos|pido|exijo)( \w+){0,2} (solucion|arreglo)\b`),
    recurrence: /\b(otra vez|de nuevo|todavia|aun|sigue|siguen|vuelve a|vuelven a)\b/,
  },
  it: {
    negators: /^(non|mai|niente|nulla|nessun|nessuno|nessuna|senza|ne)$/,
    negatorAfter: 0,
    contrast: /\b(ma|pero|tuttavia|eppure|comunque)\b/,
    intensifiers: /^(molto|davvero|proprio|veramente|super|estremamente|tanto|troppo)$/,
    gratitude: rx(String.raw`\b(grazie|ringrazi\w*)\b`),
    politeness: rx(String.raw`\bgrazie (in anticipo|anticipatamente)\b|\bper (favore|cortesia)\b|\b(niente di urgente|nessuna fretta|non e urgente)\b`),
    functionVerbs: rx(String.raw`\b(raggiung\w*|accend\w*|risolvere|sistemare|riparare|funzion\w*|va|vanno|andava|avvi\w*|apr\w*|apre|carica|caric\w*|colleg\w*|conness\w*|stamp\w*|invi\w*|sincronizz\w*|aggiorn\w*|install\w*|acced\w*|riconosc\w*|riconosciut\w*|rispond\w*|aiut\w*|servit\w*|servito|riesco|riesce|riusciamo|posso|puo|possiamo)\b`),
    workedPast: rx(String.raw`\b(ha funzionato|ha risolto|era quello)\b`),
    resolvedAdverbs: /\b(impeccabil\w*|ora|adesso|di nuovo|finalmente|perfettamente|alla perfezione|senza (problemi|intoppi)|subito|bene|stabile)\b/,
    resolution: rx(String.raw`\b(risolt\w*|sistemat\w*|riparat\w*|a posto|tornat\w*)\b`),
    failure: rx(String.raw`\b(schermata blu|schermo blu|interrott\w*|a meta|peggio|peggior\w*|inutilizzabile|inutile|da sol[oa]|negat[oa]|bianc[oa]|si blocca|blocc\w*|crash\w*|si pianta|piant\w*|congel\w*|incepp\w*|errore|errori|fall\w*|rott\w*|guast\w*|bugs?|problem\w*|lent\w*|pers[oie]|manc\w*|spari\w*|cancellat\w*|corrott\w*|nero|vuot\w*|mort\w*|offline|irraggiungibile|sfarfall\w*|surriscald\w*|salta|saltano|disconn\w*|scollegat\w*|(mi|ci) (butta|buttano|sbatte|caccia)( \w+)? fuori|sbagliat\w*)\b`),
    services: /^(internet|rete|wifi|wi-fi|connessione|posta|email|e-mail|mail|audio|suono|immagine|segnale|corrente|accesso)$/,
    persistence: rx(String.raw`\bstesso (risultato|comportamento|messaggio)\b|\b(successo|succede|capitato|capita) di nuovo\b|\bdi nuovo (successo|capitato)\b|\bva avanti cosi\b|\bstuf[oa]\b|\bnon ne posso piu\b|\baspett\w*\b.{0,40}\b(da|giorni|settiman\w*|ore)\b|\b(second|terz|quart|quint)[oa] (ticket|richiesta|segnalazione|mail|sollecito)\b|\bstessa cosa\b|\b(seconda|terza|quarta|\d+a) volta\b|\bstesso (problema|errore)\b|\bpersiste\b|\bogni volta\b|\bogni \w+ (minuti|ore|secondi)\b|\bdi continuo\b|\bcontinuamente\b|\binaccettabile\b|\bcontinua(no)? a\b`),
    totalNegators: rx(String.raw`\b(niente|nulla|nessuno|mai)\b`),
    stillAgain: /\b(ancora|di nuovo|continua a|continuano a|neanche|nemmeno|anche)\b/,
    unfortunately: rx(String.raw`\b(purtroppo|sfortunatamente)\b`),
    praise: rx(String.raw`\b(meglio|impeccabil\w*|limpid\w*|ottim\w*|perfett\w*|fantastic\w*|meraviglios\w*|eccellente|bravi|bravo|complimenti|soddisfatt\w*|content\w*|adoro|gentilissim\w*|grande|chiarissim\w*|apprezzat\w*)\b`),
    gone: /\b(spari\w*)\b/,
    functionWords: words('il lo la i gli le di del della e che non un una per in con mi mio mia si sono ho al alla da grazie ma ora adesso ancora'),
    closing: /^(grazie( mille| ancora| tante)?|ti ringrazio|vi ringrazio|saluti|cordiali saluti|distinti saluti|un saluto|buona (giornata|serata|settimana)|buon (lavoro|fine settimana|weekend))$/,
    closingWish: /^(saluti|cordiali saluti|distinti saluti|un saluto|buona (giornata|serata|settimana)|buon (lavoro|fine settimana|weekend))$/,
    request: /\?|\b(per favore|per cortesia|potete|potreste|puoi|potresti|mi serve|mi servirebbe|ho bisogno|abbiamo bisogno|vorrei|chiedo)\b/,
    technical: rx(String.raw`\btermina attivita\b|\b(termin(are|a|o)|kill(are|a|o)|uccid(ere|e|o)|arrestare|chiudere forzatamente|forzare la chiusura di)(\W+[\w']+){0,3}?\W+(process[oi]|task|servizi?o?|session[ei])\b|\bfals[oi] positiv[oi]\b|\bfals[oi] allarm[ei]\b|\bfalse positives?\b`),
    errorLabel: rx(String.raw`\berror[ei] (critic[oi]|fatal[ei])\b`),
    recurrence: /\b(ancora|di nuovo|ancora una volta|continua a|continuano a)\b/,
  },
  nl: {
    negators: /^(niet|geen|nooit|niets|niemand|zonder|nergens|noch)$/,
    negatorAfter: 10,
    contrast: /\b(maar|echter|toch)\b/,
    intensifiers: /^(erg|heel|echt|zeer|super|ontzettend|enorm|vreselijk|hartstikke)$/,
    gratitude: rx(String.raw`\b(bedankt|dank|dankjewel|dankuwel|thanks|thx)\b`),
    politeness: rx(String.raw`\b(alvast bedankt|bij voorbaat dank)\b|\b(graag|alstublieft|alsjeblieft|aub)\b|\b(geen haast|niet dringend|niets dringends)\b`),
    functionVerbs: rx(String.raw`\b(gaat|gaan|oplossen|repareren|fiksen|werk(t|en|te|ten)|doe[tn]( \w+)? het|start|starten|opstart\w*|opent|openen|gaan \w+ open|gaat open|laad\w*|laadt|verbind\w*|verbinding|print(en|t)?|verstuur\w*|verzend\w*|synchroniseer\w*|bijgewerkt|installeer\w*|inlog\w*|inloggen|herken\w*|herkend|reageer\w*|reageert|antwoord\w*|help\w*|hielp|geholpen|kan|kunnen|kon|lukt\w*)\b`),
    workedPast: rx(String.raw`\b(heeft (\w+ )?gewerkt|dat was het|werkte)\b`),
    resolvedAdverbs: /\b(foutloos|probleemloos|weer|nu|eindelijk|perfect|prima|zonder (problemen|haperingen)|meteen|normaal|goed|stabiel)\b/,
    resolution: rx(String.raw`\b(opgelost|gerepareerd|gefikst|verholpen|in orde|terug)\b`),
    failure: rx(String.raw`\b(gewist|overschreven|blauw scherm|blauwe scherm|afgebroken|halverwege|erger|slechter|onbruikbaar|nutteloos|uit zichzelf|vanzelf|geweigerd|lege|crash\w*|gecrasht|loopt vast|vastlop\w*|vast|bevriest|bevroren|hangt|fout(?!loos)\w*|mislukt|kapot|defect|bugs?|probleem|problemen|storing\w*|traag|langzaam|kwijt|verloren|ontbr\w*|verdwenen|weg|verwijderd|corrupt|zwart|leeg|dood|offline|plat|onbereikbaar|geblokkeerd|flikker\w*|oververhit|valt|vallen|uitgelogd|verbroken|logt (me|mij|ons) uit|gooit (me|mij|ons) eruit|verkeerde?)\b`),
    services: /^(internet|netwerk|wifi|wi-fi|verbinding|e-mail|email|mail|geluid|beeld|signaal|stroom|toegang)$/,
    persistence: rx(String.raw`\b(zelfde|hetzelfde) (resultaat|gedrag|bericht)\b|\bgebeurde? (het )?weer\b|\bweer gebeurd\b|\bdit duurt (nu )?al\b|\bgek van\b|\bbeu\b|\b(ben|zijn) het zat\b|\bwacht\w*\b.{0,40}\b(al|sinds|dagen|weken|uur)\b|\b(tweede|derde|vierde|vijfde) (ticket|melding|verzoek|mail)\b|\bhetzelfde\b|\b(tweede|derde|vierde|\d+e) keer\b|\b(hetzelfde|zelfde) probleem\b|\belke keer\b|\btelkens\b|\belke \w+ (minuten|uur|seconden)\b|\bsteeds\b|\bvoortdurend\b|\bcontinu\b|\bonacceptabel\b`),
    totalNegators: rx(String.raw`\b(niets|niemand|nooit)\b`),
    stillAgain: /\b(nog steeds|nog altijd|weer|opnieuw|blijft|ook|meer)\b/,
    unfortunately: rx(String.raw`\b(helaas|jammer genoeg)\b`),
    praise: rx(String.raw`\b(beter|foutloos|probleemloos|kristalhelder|top|geweldig|fantastisch|perfect|prima|uitstekend|super|fijn|mooi|tevreden|blij|held|complimenten|goed gedaan|goed werk|vlekkeloos|gewaardeerd)\b`),
    gone: /\b(weg|verdwenen)\b/,
    functionWords: words('de het een en is ik niet van op in met voor mijn dat die er te we zijn aan bij ook nog weer graag bedankt nu goed dank jullie heb ben geen meer sinds gisteren'),
    closing: /^(bedankt( alvast)?|dank( je| u)?( wel)?|dankjewel|dankuwel|thanks|groet(en|jes)?|met vriendelijke groet(en)?|vriendelijke groet(en)?|mvg|fijne dag( nog)?|prettige dag( nog)?|fijn weekend)$/,
    closingWish: /^(groet(en|jes)?|met vriendelijke groet(en)?|vriendelijke groet(en)?|mvg|fijne dag( nog)?|prettige dag( nog)?|fijn weekend)$/,
    request: /\?|\b(graag|alstublieft|alsjeblieft|aub|kunnen jullie|kun je|kunt u|zou u|zouden jullie|ik heb \w+( \w+)? nodig|wij hebben|ik wil graag|ik zou graag)\b/,
    technical: rx(String.raw`\b(proces\w*|taak|taken|service|dienst)(\W+[\w']+){0,3}?\W+(killen|kill|afschieten|beeindigen|stoppen|afsluiten)\b|\btaak beeindigen\b|\b(kill|killen|beeindig|beeindigen)(\W+[\w']+){0,3}?\W+(proces\w*|taak|taken)\b|\bvals(e)? (positief|positieven|alarm)\b|\bfalse positives?\b`),
    errorLabel: rx(String.raw`\b(kritieke|fatale) (fout\w*|waarschuwing)\b`),
    recurrence: /\b(weer|alweer|nog steeds|nog altijd|opnieuw)\b/,
  },
};

/** franc-min's ISO 639-3 codes for the languages above. */
export const FRANC_CODES: Record<string, Language> = { eng: 'en', deu: 'de', fra: 'fr', spa: 'es', ita: 'it', nld: 'nl' };
