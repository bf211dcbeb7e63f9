/**
 * Names: what a flow shows in the clear (TLS/DTLS/QUIC server name, certificate names, HTTP Host, DNS answers for
 * its addresses), the service catalogue that maps names and port conventions to a service and a category, and the
 * verdict that combines them with the behaviour model's answer. Depends on wire only; the flow meter uses it.
 */
export { parseDnsResponse, dnsQuestion, type DnsResponse, type DnsAddress } from './dns.ts';
export { DnsNameCache, addressKey, DEFAULT_DNS_CACHE_SIZE } from './cache.ts';
export { httpHost, looksLikeHttpRequest, cleanHost } from './http.ts';
export {
  CATEGORIES, loadCatalog, buildCatalog, serviceNamed, shippedCatalogFile, validateCatalogFile, matchName, matchPort, normaliseName,
  portKeys, CatalogError, shippedCatalogPath, CATALOG_ENV, catalogFilesFromEnv, exportCatalogFiles,
  type Catalog, type CatalogFile, type Category, type Service, type ServiceEntry,
} from './catalog.ts';
export {
  nameVerdict, combineVerdict, commonName, modelCategory, SOURCE_CONFIDENCE, UNCATALOGUED_WEB_CONFIDENCE, WEAK_PORT_CONFIDENCE, GUESS_CONFIDENCE, MODEL_LABEL_CATEGORY,
  type FlowNames, type NameVerdict, type AppModelAnswer, type NameSource, type VerdictSource, type ModelAnswer, type FlowVerdict, type CombineOptions,
} from './verdict.ts';
export { catalogMarkdown } from './markdown.ts';
export { flowNamesOf, nameColumns, namesAt, type NameColumns } from './row.ts';
