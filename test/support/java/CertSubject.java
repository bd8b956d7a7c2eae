// Prints the subject of each PEM certificate named on the command line as ZooKeeper's X509
// provider names a client: Java's X500Principal.getName() (RFC 2253), one line each.
//   java CertSubject.java <cert.pem>...
import java.io.FileInputStream;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;

public class CertSubject {
    public static void main(String[] args) throws Exception {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        for (String path : args) {
            try (FileInputStream in = new FileInputStream(path)) {
                X509Certificate certificate = (X509Certificate) factory.generateCertificate(in);
                System.out.println(certificate.getSubjectX500Principal().getName());
            }
        }
    }
}
