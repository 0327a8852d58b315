/// The XML Signature profile of the real OCS feed: enveloped, C14N 1.0, RSA-SHA256, SHA-256.
public enum XMLSignatureProfile {
    public static let namespace = "http://www.w3.org/2000/09/xmldsig#"
    public static let canonicalization = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    public static let signatureMethod = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    public static let envelopedSignature = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
    public static let digestMethod = "http://www.w3.org/2001/04/xmlenc#sha256"
}
